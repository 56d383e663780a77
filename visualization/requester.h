/* requester.h: what the game's two clients share (submit.c sends commands,
 * member_request.c membership changes): the peers' addresses, one request at a time on a
 * detached thread that follows not_leader redirects, and its result sent back as a line
 * through a pipe, so the game's loop never waits on the network: it only reads a ready fd. */
#ifndef GAME_REQUESTER_H
#define GAME_REQUESTER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/client_protocol.h"
#include "visualization/village_model.h"

struct requester_peer {
    char name[VILLAGE_NAME_MAX];
    char host[256];
    int port;
};

struct requester {
    struct requester_peer peers[VILLAGE_MAX_PEERS];
    int n_peers;
    atomic_bool busy; /* a request is on its way */
    int pipe_rd;      /* the worker writes one fixed-size result record here */
    int pipe_wr;
};

/* The peers a worker tries, copied when the request starts: the game may add peers to
 * the requester meanwhile. */
struct requester_targets {
    struct requester_peer peers[VILLAGE_MAX_PEERS];
    int n_peers;
    int at; /* the one to try next */
};

/* 0, or -1 with err. */
int requester_init(struct requester *r, char *err, size_t errlen);
/* A worker may still be running: only the read end closes (its result is then lost). */
void requester_close(struct requester *r);
void requester_add_peer(struct requester *r, const char *name, const char *host, int port);

/* Takes the one request slot: false when a request is on its way or there is no peer. */
bool requester_claim(struct requester *r);
/* Gives the slot back when no request was started after all (out of memory). */
void requester_unclaim(struct requester *r);
/* The peers, starting at first (the leader, if known; else the first peer). */
void requester_targets(const struct requester *r, int first, struct requester_targets *t);
/* Runs fn(job) on a detached thread, which ends with requester_finish. -1 (the slot
 * given back) when no thread could be made. */
int requester_start(struct requester *r, void *(*fn)(void *), void *job);
/* From the worker: its one result line, and the slot given back. */
void requester_finish(struct requester *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* One request line to t's current peer, answered within answer_ms: 0 with resp filled,
 * or -1 (unreachable, no answer in time, not an answer). *sent says whether any of the
 * line left, so that it may be in a leader's log. */
int requester_ask(const struct requester_targets *t, const char *line, size_t len, int answer_ms,
                  struct client_response *resp, bool *sent);
/* After an answer: moves to the peer a not_leader answer names, or the next one. Returns
 * false when it had to guess (no leader named: an election may be on). */
bool requester_follow(struct requester_targets *t, const struct client_response *resp);
/* After no answer: the next peer. */
void requester_next(struct requester_targets *t);

/* 1 and a line for the feed in text when a request finished, 0 when nothing is new. */
int requester_poll(struct requester *r, char *text, size_t len);

#endif /* GAME_REQUESTER_H */
