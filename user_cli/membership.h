/* membership.h: the membership words of user_cli (members, add NAME [--learner],
 * promote NAME, remove NAME): parsing them, the request line they send, and the
 * sentences that show the answer and the configuration (docs/MEMBERSHIP.md). */
#ifndef USER_CLI_MEMBERSHIP_H
#define USER_CLI_MEMBERSHIP_H

#include "user_cli/cluster_client.h"
#include "user_cli/status_table.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum membership_action {
    MEMBERSHIP_ADD,     /* as a learner, then promoted once caught up (or left a learner) */
    MEMBERSHIP_PROMOTE, /* a learner becomes a voter */
    MEMBERSHIP_REMOVE,
};

struct membership_change {
    enum membership_action action;
    char peer[64];
    bool learner; /* add only: stay a learner */
};

enum membership_parse_result {
    MEMBERSHIP_NOT_MINE = 0, /* another command, e.g. the variable read "add get" */
    MEMBERSHIP_PARSED = 1,   /* *ch holds the change */
    MEMBERSHIP_USAGE = -1,   /* one of ours, misused: err says how to write it */
};

/* Reads a trimmed line. "add NAME", "add NAME --learner", "promote NAME" and
 * "remove NAME" are changes; a line of another shape whose first word is one of
 * these is a state-machine command on a variable of that name ("add get",
 * "remove set 5") and is not ours. */
enum membership_parse_result membership_parse(const char *text, struct membership_change *ch,
                                              char *err, size_t errlen);

/* The request line, JSON + "\n", into out. Its length, or -1 when it does not fit. */
int membership_request_encode(const struct membership_change *ch, char *out, size_t outlen);

/* One line (no newline) telling what a successful answer (its raw line) did:
 * "peer4 is a voter now (index 57); voters: peer1, peer2, peer3, peer4; learners: none". */
const char *membership_outcome_words(const struct membership_change *ch, const char *raw, char *buf,
                                     size_t buflen);

/* The configuration as the leader st reports it: one row per voter and learner
 * with its match index, the leader marked, learners caught up or not, and a line
 * when a change is not committed yet. */
void members_print(FILE *out, const struct peer_status *st);

#endif
