/* game.h: raft_game's window and main loop: the stream in, the monster and the
 * player's hands out, a frame drawn sixty times a second. */
#ifndef GAME_GAME_H
#define GAME_GAME_H

#include "visualization/options.h"

/* Runs the game until the player quits or a --quit-after-ms/--after-ms deadline. Returns
 * the process exit code: 0, 1 on a runtime failure (no window, port taken), 2 on a bad
 * configuration file. */
int game_run(const struct game_options *o);

#endif /* GAME_GAME_H */
