/* submit.h: the game's client for commands (the 'c' key, typed commands, lessons),
 * sent through the leader by a requester (requester.h), exactly once per session. */
#ifndef GAME_SUBMIT_H
#define GAME_SUBMIT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "visualization/requester.h"

struct submitter {
    struct requester rq;
    char client_id[48];
    long started;                /* start time, part of client_id */
    unsigned sessions_expired;   /* sessions the cluster forgot, part of client_id */
    uint64_t seq;                /* of the last write (reads do not use one up) */
    atomic_bool session_expired; /* set by a worker: start a new session before the next */
};

/* Prepares the client (its client_id names the game and its pid). 0 or -1 with err. */
int submitter_init(struct submitter *s, char *err, size_t errlen);
void submitter_close(struct submitter *s);

/* Sends command, starting with peer first_slot (the leader, if known) and following
 * not_leader redirects. Returns 0 when started, -1 when busy or nothing to send to. */
int submitter_send(struct submitter *s, const char *command, int first_slot);

#endif /* GAME_SUBMIT_H */
