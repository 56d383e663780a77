/* main.c: raft_game, the SDL2 village: a live view of a Raft cluster you can attack. */
#include <stdio.h>

#include "visualization/game.h"
#include "visualization/options.h"

int main(int argc, char **argv)
{
    struct game_options o;
    char err[256];
    int rc = game_options_parse(argc, argv, &o, err, sizeof err);

    if (rc == 1) {
        fputs(GAME_USAGE, stdout);
        return 0;
    }
    if (rc < 0) {
        fprintf(stderr, "raft_game: %s\n%s", err, GAME_USAGE);
        return 2;
    }
    return game_run(&o);
}
