/* fault_commands.h: the classroom's network faults: partition, isolate, cut, heal and
 * delay, and the lesson pace (pace F [--no-fast-failover]). Each is checked here, then sent as a
 * control message to every peer of the cluster (each peer enforces the cut on its own sends and
 * receives), and every peer's answer is printed. Peers take them only when started with -v
 * (docs/CONTRACT.md). */
#ifndef USER_CLI_FAULT_COMMANDS_H
#define USER_CLI_FAULT_COMMANDS_H

#include <stddef.h>

#include "user_cli/commands.h"

/* Longest control line built here: 16 names of 32 bytes and a token fit easily. */
#define FAULT_LINE_MAX 2048

/* Is text (trimmed) one of the fault commands? "partition set 5" is not: a built-in
 * word followed by an operation is a variable of that name, as elsewhere. */
int fault_command_matches(const char *text);

/* Builds the control line (with its newline) for text against the cluster's peers,
 * adding the token when it is not empty. 0, or -1 with a sentence in err (a usage
 * line or an unknown peer: nothing is sent then). */
int fault_command_build(const struct cluster_client *c, const char *text, const char *token,
                        char *line, size_t linelen, char *err, size_t errlen);

/* Builds, sends to every peer, prints each answer. Returns CLI_OK when every peer that
 * answered accepted it, CLI_FAILED when one refused (or the command is malformed),
 * CLI_UNREACHABLE when no peer answered. */
int fault_command_run(struct cli_session *s, const char *text);

#endif
