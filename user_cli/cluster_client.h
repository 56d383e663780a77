/* cluster_client.h: talks to a Raft Village cluster as one client: finds and
 * remembers the leader, follows redirects, and retries a request with the same
 * seq (so it runs exactly once) until a deadline. Never prints. */
#ifndef USER_CLI_CLUSTER_CLIENT_H
#define USER_CLI_CLUSTER_CLIENT_H

#include "common/client_protocol.h"
#include "user_cli/line_conn.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CLUSTER_MAX_PEERS 16

/* Backoff between retries: doubles from the first value up to the cap. */
#define CLUSTER_BACKOFF_FIRST_MS 10
#define CLUSTER_BACKOFF_CAP_MS   200
/* One connect or one wait for a reply never takes longer than this, so a hung
 * peer cannot eat the whole deadline while others could answer. */
#define CLUSTER_ATTEMPT_CAP_MS 1000

enum cluster_status {
    CLUSTER_OK = 0,           /* the cluster answered: look at resp.ok */
    CLUSTER_UNREACHABLE = -1, /* no answer from a leader before the deadline */
    CLUSTER_EINVAL = -2,      /* the request itself is unusable (too long, bad name) */
};

struct cluster_peer {
    char name[64];  /* section name in the ini, e.g. "peer1" */
    char host[256]; /* where its client port listens */
    int port;
};

struct cluster_client {
    struct cluster_peer peers[CLUSTER_MAX_PEERS];
    int n_peers;
    /* The peers asked first while the leader is unknown: the command line's N. The
     * configuration may have moved on since (peers added and removed), so once that many
     * attempts in a row found no leader, the client asks the others of the file too. */
    int n_first;
    int misses;         /* attempts in a row that named no leader */
    bool widened;       /* the others of the file are asked too */
    int leader;         /* index of the believed leader, -1 when unknown */
    int cursor;         /* next peer to ask while the leader is unknown */
    int conn_peer;      /* index of the peer conn is connected to, -1 if none */
    int timeout_ms;     /* deadline of one request, retries included */
    char client_id[65]; /* "cli-" + 8 random hex digits, one per session */
    /* The message of the last `unavailable` answer during the latest request, "" if
     * none: the request was then resent, and a change that did take effect the first
     * time is refused the second (bad_membership), which the caller can explain. */
    char interrupted[256];
    uint64_t next_seq; /* seq of the next write (reads do not use one up); starts at 1 */
    struct line_conn conn;
};

/* Allocates a client for the given peers (at most CLUSTER_MAX_PEERS). The first
 * peer asked is chosen at random so many clients spread their first contact. */
struct cluster_client *cluster_client_create(const struct cluster_peer *peers, int n_peers,
                                             int timeout_ms, char *err, size_t errlen);
void cluster_client_destroy(struct cluster_client *c);

/* Asks only the first n_first peers (1..n_peers) while the leader is unknown, and
 * the others of the file once none of those named a leader. The first one asked is
 * again chosen at random among them. Without this call every peer is a first one. */
void cluster_client_set_first(struct cluster_client *c, int n_first);

/* Submits one state-machine command ("x add 100") with the next seq; resends
 * after an attempt that may have reached a leader's log carry "retry":true. On
 * CLUSTER_OK *resp is the cluster's answer (ok or a definitive error such as
 * cas_failed) and *raw, if raw is not NULL, the response line as received,
 * valid until the next call on c. Otherwise err says why. An answer of
 * session_expired means the command's outcome is unknown (it was not run by that
 * answer, but an earlier attempt may have run it); c has then already started a
 * new session (cluster_client_new_session) for the next command. */
int cluster_client_submit(struct cluster_client *c, const char *command,
                          struct client_response *resp, const char **raw, char *err, size_t errlen);

/* Asks the leader to hand leadership to the named peer. Same results as submit. */
int cluster_client_transfer(struct cluster_client *c, const char *target,
                            struct client_response *resp, const char **raw, char *err,
                            size_t errlen);

/* Sends one already encoded request line (ending in "\n") to the leader with
 * the retry rules above, resending the very same line. Used by transfer. */
int cluster_client_request(struct cluster_client *c, const char *line, size_t len,
                           struct client_response *resp, const char **raw, char *err,
                           size_t errlen);

/* The same, except that one attempt waits for its answer until the deadline
 * instead of at most CLUSTER_ATTEMPT_CAP_MS: for requests the leader answers only
 * after a slow step (a membership change waits for a learner to catch up), which
 * must not be resent while it runs. */
int cluster_client_request_patient(struct cluster_client *c, const char *line, size_t len,
                                   struct client_response *resp, const char **raw, char *err,
                                   size_t errlen);

/* Index of the peer with that name, or -1. */
int cluster_client_find_peer(const struct cluster_client *c, const char *name);
/* Name of the remembered leader, or NULL. */
const char *cluster_client_leader(const struct cluster_client *c);
/* Remember idx as the leader (-1 forgets), e.g. after a status query. */
void cluster_client_set_leader(struct cluster_client *c, int idx);

/* Starts a new session: a fresh client id, seq 1 next. */
void cluster_client_new_session(struct cluster_client *c);

/* Fills buf with a fresh client id: "cli-" and 8 random hex digits. */
void cluster_client_new_id(char *buf, size_t buflen);

#endif
