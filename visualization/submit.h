/* submit.h: the game's client, which submits commands (the 'c' key) through the
 * leader on a thread of its own, so the frame never waits on the network. */
#ifndef GAME_SUBMIT_H
#define GAME_SUBMIT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "visualization/village_model.h"

struct submit_peer {
    char name[VILLAGE_NAME_MAX];
    char host[256];
    int port;
};

struct submitter {
    struct submit_peer peers[VILLAGE_MAX_PEERS];
    int n_peers;
    char client_id[48];
    long started;                /* start time, part of client_id */
    unsigned sessions_expired;   /* sessions the cluster forgot, part of client_id */
    uint64_t seq;                /* of the last write (reads do not use one up) */
    atomic_bool busy;            /* a request is on its way: one at a time */
    atomic_bool session_expired; /* set by a worker: start a new session before the next */
    int pipe_rd;                 /* the worker writes one result line per request here */
    int pipe_wr;
};

/* Prepares the client (its client_id names the game and its pid). 0 or -1 with err. */
int submitter_init(struct submitter *s, char *err, size_t errlen);
void submitter_close(struct submitter *s);

/* Adds a peer that requests may be sent to. */
void submitter_add_peer(struct submitter *s, const char *name, const char *host, int port);

/* Sends command, starting with peer first_slot (the leader, if known) and following
 * not_leader redirects. Returns 0 when started, -1 when busy or nothing to send to. */
int submitter_send(struct submitter *s, const char *command, int first_slot);

/* 1 and a line for the feed in text when a request finished, 0 when nothing is new. */
int submitter_poll(struct submitter *s, char *text, size_t len);

#endif /* GAME_SUBMIT_H */
