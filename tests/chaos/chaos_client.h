/* chaos_client.h: a client of the chaos run: finds the leader, retries one seq until it has
 * an answer or gives up, and records every operation into its own history. */
#ifndef TESTS_CHAOS_CHAOS_CLIENT_H
#define TESTS_CHAOS_CHAOS_CLIENT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "tests/chaos/chaos_cluster.h"
#include "tests/chaos/history.h"

#define CHAOS_SHARED_KEYS 3 /* k0..k2, used by every client; client I also owns cI */

struct chaos_client {
    int number;                          /* 0..HISTORY_MAX_CLIENT */
    char run_id[40];                     /* part of every client_id of this run */
    char id[64];                         /* client_id on the wire, of the current session */
    unsigned sessions_expired;           /* sessions the cluster forgot (session_expired) */
    uint64_t seq;                        /* the last seq used in the current session */
    const struct chaos_cluster *cluster; /* read-only: hosts and ports */
    int target;                          /* the peer it talks to, 1..n */
    int pinned;                          /* 0, or the only peer it may talk to */
    int fd;                              /* connection to target, -1 */
    char buf[4096];                      /* bytes received beyond the last line */
    size_t used;
    int attempt_ms;                       /* how long to wait for one answer */
    int give_up_ms;                       /* how long to retry one seq */
    uint64_t rng;                         /* xorshift state, from the run's seed */
    int64_t last_seen[CHAOS_SHARED_KEYS]; /* last value seen per shared key, for cas */
    const atomic_int *stop;               /* set by the run when the workload ends */
    struct history hist;                  /* what it did */
    bool oom;                             /* the history could not grow */
};

/* run_id makes client ids unique across runs (sessions are per id). */
void chaos_client_init(struct chaos_client *c, int number, const char *run_id, uint64_t seed,
                       const struct chaos_cluster *cluster, const atomic_int *stop);

/* Runs one operation until it has an answer or give_up_ms passed; records it (and copies
 * the record into *out when out != NULL). 0, or -1 if the history could not grow. */
int chaos_client_do(struct chaos_client *c, const char *key, enum lin_kind kind, int64_t a,
                    int64_t b, struct chaos_op *out);

/* The workload: random operations on the client's own counter and the shared keys until
 * *stop, then one last write to its counter ("add 0", the session fence: once it is
 * applied, none of this session's earlier unknown writes can still take effect). */
void *chaos_client_thread(void *arg);

void chaos_client_close(struct chaos_client *c);

#endif
