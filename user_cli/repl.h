/* repl.h: the interactive prompt: libedit line editing, history kept across
 * runs, and tab completion of command words and peer names. */
#ifndef USER_CLI_REPL_H
#define USER_CLI_REPL_H

#include "user_cli/commands.h"

#include <stddef.h>

/* Where history lives: $RAFT_CLI_HISTORY if set and not empty, else
 * $HOME/.raft_village_history. Returns 0, or -1 when neither is known. */
int repl_history_path(char *buf, size_t buflen);

/* Prompts until quit, exit or end of input (Ctrl-D). Returns the exit code: 0,
 * since failed commands were already explained on the screen. */
int repl_run(struct cli_session *s);

/* Completion candidates for the word being typed: word_index is its position
 * on the line (0 = first), first_word the line's first word (for the second
 * word). Calls back with each matching word; kept apart from libedit so it can be
 * tested. */
void repl_complete_words(const struct cluster_client *c, int word_index, const char *first_word,
                         const char *prefix, void (*emit)(const char *word, void *arg), void *arg);

#endif
