/* main.c: raft_game, the SDL2 village: a live view of a Raft cluster you can attack. */
#include <stdio.h>

#include <string.h>

#include "visualization/game.h"
#include "visualization/lesson.h"
#include "visualization/options.h"

int main(int argc, char **argv)
{
    struct game_options o;
    char err[256];
    int rc = game_options_parse(argc, argv, &o, err, sizeof err);

    if (rc == 1) {
        fputs(GAME_USAGE, stdout);
        lesson_print_list(stdout);
        return 0;
    }
    if (rc < 0) {
        fprintf(stderr, "raft_game: %s\n%s", err, GAME_USAGE);
        return 2;
    }
    if (o.lesson != NULL && strcmp(o.lesson, "list") == 0) {
        lesson_print_list(stdout);
        return 0;
    }
    if (o.lesson != NULL && lesson_find(o.lesson) < 0) {
        fprintf(stderr, "raft_game: --lesson %s: no such lesson\n", o.lesson);
        lesson_print_list(stderr);
        return 2;
    }
    return game_run(&o);
}
