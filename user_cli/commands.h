/* commands.h: what one line typed to user_cli does: built-in words (help,
 * status, leader, transfer, the network faults, quit) or a state-machine command
 * for the cluster. */
#ifndef USER_CLI_COMMANDS_H
#define USER_CLI_COMMANDS_H

#include "user_cli/cluster_client.h"

#include <stdbool.h>
#include <stdio.h>

/* Exit codes of user_cli, also the results of cli_execute. */
enum cli_result {
    CLI_OK = 0,          /* the command succeeded */
    CLI_FAILED = 1,      /* refused: bad command, or the cluster said no (cas, overflow...) */
    CLI_USAGE = 2,       /* wrong usage or a bad configuration file */
    CLI_UNREACHABLE = 3, /* no leader answered before the deadline */
    CLI_QUIT = 100,      /* quit/exit: not an exit code, the loop stops */
};

struct cli_session {
    struct cluster_client *client;
    bool json;         /* print the cluster's raw reply lines instead of results */
    FILE *out;         /* results */
    FILE *errout;      /* error sentences ("error: ..."), may be the same as out */
    const char *token; /* the ini's cluster token for control messages; NULL or "" if none */
};

/* Runs one line. Blank lines and lines starting with '#' do nothing. */
int cli_execute(struct cli_session *s, const char *line);

/* Script mode: one command per line from in, one result per line out. Stops
 * early on quit or when the cluster is unreachable. Returns the exit code: 0 if
 * every command succeeded, else the first failure's code (3 wins over 1). */
int cli_run_stream(struct cli_session *s, FILE *in);

/* The words of the help text, for completion: NULL-terminated. */
extern const char *const cli_builtin_words[];
extern const char *const cli_operation_words[];

void cli_print_help(FILE *out);

#endif
