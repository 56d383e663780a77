/* status_table.h: asks every peer for its own view ({"type":"status"}) and shows
 * the cluster as one table. */
#ifndef USER_CLI_STATUS_TABLE_H
#define USER_CLI_STATUS_TABLE_H

#include "user_cli/cluster_client.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* A field the peer did not send (or sent with the wrong type) is -1 or "". */
struct peer_follower {
    char name[64];
    long long match_index;
    long long next_index;
    int voter;     /* 1 a voter, 0 a learner, -1 when the peer does not say */
    int caught_up; /* learners: 1 caught up (§4.2.1), 0 not yet, -1 when not said */
};

struct peer_status {
    bool reachable;     /* the peer answered with a status object */
    char problem[160];  /* why not, when !reachable */
    char name[64];      /* the name the peer gives itself */
    char role[16];      /* "leader", "follower", "candidate", ... */
    char leader[64];    /* who it thinks leads */
    char voted_for[64]; /* its vote in this term */
    long long term;
    long long commit_index;
    long long last_applied;
    long long log_length;
    long long first_index;
    long long snapshot_index;
    /* Network faults in force on it (peers started with -v): names joined by ", ". */
    char cut[200];      /* both ways */
    char cut_to[200];   /* it sends nothing to them */
    char cut_from[200]; /* it ignores them */
    char fault[200];    /* the requests behind the cuts, in words */
    long long delay_ms; /* -1 when the peer does not say (an older peer) */
    long long pace;     /* the lesson pace; -1 when the peer does not say */
    int fast_failover;  /* 1 on, 0 off, -1 when the peer does not say */
    int n_followers;    /* entries of followers[] filled, leader only */
    struct peer_follower followers[CLUSTER_MAX_PEERS];
    /* The configuration it uses (docs/MEMBERSHIP.md): the latest in its log. */
    int n_voters;
    char voters[CLUSTER_MAX_PEERS][64];
    int n_learners;
    char learners[CLUSTER_MAX_PEERS][64];
    int config_pending; /* 1 not committed yet, 0 committed, -1 when not said */
};

/* Parses one status reply. Unknown fields are ignored, missing ones left unset;
 * only a line that is not a JSON object is an error. Sets reachable. */
int status_parse(const char *line, size_t len, struct peer_status *st, char *err, size_t errlen);

/* Asks one peer, waiting at most timeout_ms. Never fails: an unreachable peer
 * comes back with reachable false and problem set. If raw is not NULL it gets
 * the reply line (or "" when there was none). */
void status_fetch(const struct cluster_peer *peer, int timeout_ms, struct peer_status *st,
                  char *raw, size_t rawlen);

/* Which peer leads: the one that says it is leader in the highest term among
 * those that answered; else -1. */
int status_find_leader(const struct peer_status *st, int n);

/* The follower entry of the leader's status for name, or NULL. */
const struct peer_follower *status_follower(const struct peer_status *st, const char *name);

/* Prints the table, then one note per unreachable peer and the leader's view of
 * its followers. */
void status_table_print(FILE *out, const struct cluster_peer *peers, const struct peer_status *st,
                        int n);

#endif
