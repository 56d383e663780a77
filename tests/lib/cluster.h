/* cluster.h: real raft_peer processes on loopback for integration tests and tools:
 * a temporary directory with its own ini, data and logs, free ports, start/kill/restart,
 * status queries and client requests that find the leader. */
#ifndef TESTS_CLUSTER_H
#define TESTS_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/client_protocol.h"

#define CLUSTER_MAX_PEERS 9

/* Election timeouts for tests that check who leads, or that nobody takes over, across a
 * stretch of time. With the default 150-300 ms a leader that this machine deschedules for
 * a few hundred ms is replaced, which Raft must do but such a test cannot tell from a bug;
 * with these, only a stall of a second or more can. */
#define CLUSTER_STEADY_TIMEOUT_MIN 1000
#define CLUSTER_STEADY_TIMEOUT_MAX 2000

struct cluster_options {
    int election_timeout_min; /* 0 = 150 */
    int election_timeout_max; /* 0 = 300 */
    int heartbeat_interval;   /* 0 = 50 */
    bool visual;              /* start peers with -v */
    const char *log_level;    /* NULL = info */
    const char *extra_raft;   /* extra lines for [raft], may be NULL */
    /* Peers written into the ini after the first n and not started: spares that
     * cluster_start_joiner starts with --join for membership tests. */
    int spare;
};

struct cluster {
    int n;         /* the cluster bootstraps from peers 1..n */
    int n_ini;     /* peers in the ini: n plus the spares, at most CLUSTER_MAX_PEERS */
    char dir[256]; /* temporary directory holding raft.ini, data/, logs/ */
    char ini[320];
    char bin_dir[1024];
    int ports[CLUSTER_MAX_PEERS + 1]; /* by peer number 1..n_ini */
    /* A socket bound to each peer port (SO_REUSEADDR, never listening) from
     * cluster_prepare to cluster_stop: the peer can still bind and listen there, but no
     * other program is handed the port, not even while the peer is down. -1 if none. */
    int port_holders[CLUSTER_MAX_PEERS + 1];
    int game_port;
    pid_t pids[CLUSTER_MAX_PEERS + 1];
    struct cluster_options opt;
    char client_id[32];
    uint64_t seq; /* the last seq a write of client_id used */
    int leader_hint;
};

/* The directory holding the programs: $RAFT_BIN_DIR, else ./bin. */
const char *harness_bin_dir(void);

/* Slow runs (valgrind, see docs/TESTING.md) set two environment variables:
 *   RAFT_PEER_WRAPPER       a command line (split on blanks) that peers are exec'd
 *                           through, e.g. "valgrind --log-file=/tmp/vg/%p.vg";
 *   RAFT_TEST_TIMEOUT_SCALE an integer 1..100 (default 1) that multiplies the election
 *                           timeouts and heartbeat written into the ini, and every
 *                           timeout the functions below are given or use themselves.
 * With neither set, nothing changes. */
int harness_timeout_scale(void);
/* ms times the scale, saturating at INT_MAX. */
int harness_scaled_ms(int ms);
/* $RAFT_PEER_WRAPPER, or "" when peers run directly. */
const char *harness_peer_wrapper(void);

/* Creates the directory and ini, and starts peers 1..n. 0 or -1. */
int cluster_start(struct cluster *c, int n, const struct cluster_options *opt);
/* Writes the ini only (no peer started), for tests that start programs themselves. */
int cluster_prepare(struct cluster *c, int n, const struct cluster_options *opt);
/* (Re)starts peer i (1..n) and waits until it listens. 0 or -1. */
int cluster_start_peer(struct cluster *c, int i);
/* The same with mode (at most 6 words, NULL-terminated) instead of the cluster size N
 * after the peer's name: {"--join", NULL}, {"--force-config", "peer1,peer3", NULL}. */
int cluster_start_peer_with(struct cluster *c, int i, const char *const *mode);
/* Starts spare peer i (n+1..n_ini) as `raft_peer peerI --join`: no configuration, it
 * waits to be added (docs/MEMBERSHIP.md). Waits until it listens. 0 or -1. */
int cluster_start_joiner(struct cluster *c, int i);
/* Sends sig to peer i and reaps it. SIGKILL is a crash; SIGTERM a clean stop, which
 * becomes a kill if the peer has not exited after 3 s (scaled; at least 30 s when
 * wrapped, since valgrind checks for leaks on its way out). */
void cluster_kill_peer(struct cluster *c, int i, int sig);
/* Sends sig without reaping (SIGSTOP / SIGCONT). */
void cluster_signal_peer(struct cluster *c, int i, int sig);
/* Kills every peer, frees the ports and removes the directory (kept when
 * RAFT_KEEP_TEST_DIRS is set).
 * Wrapped peers are stopped with SIGTERM instead, so that each one exits normally and
 * its wrapper (valgrind) can report leaks. */
void cluster_stop(struct cluster *c);
bool cluster_peer_alive(struct cluster *c, int i);

/* One line to peer i, one line back (without its newline). 0 or -1 (no answer). */
int peer_exchange(struct cluster *c, int i, const char *line, char *out, size_t outlen,
                  int timeout_ms);

struct peer_status {
    char role[24];
    uint64_t term;
    int leader; /* peer number, 0 if none */
    uint64_t commit_index;
    uint64_t last_applied;
    uint64_t log_length;
    uint64_t snapshot_index; /* the index its log starts after */
    uint64_t variables;      /* in its state machine */
    bool stopped;
};
int cluster_status(struct cluster *c, int i, struct peer_status *st);

/* Waits until exactly one live peer of the highest term says it leads; its number or -1. */
int cluster_wait_leader(struct cluster *c, int timeout_ms);
/* Waits until every live peer has applied at least index. 0 or -1. */
int cluster_wait_applied(struct cluster *c, uint64_t index, int timeout_ms);

/* Runs one command with the cluster's own client id and the next seq (a write uses it
 * up, a read does not; or the given seq when seq != 0), following redirects and retrying
 * unavailable answers and lost connections until timeout_ms. 0 with the final response, -1 when
 * none came. */
int cluster_command(struct cluster *c, const char *command, uint64_t seq,
                    struct client_response *resp, int timeout_ms);
/* The same with an explicit client id. Resends after an attempt that may have reached a
 * leader's log are marked "retry":true. */
int cluster_command_as(struct cluster *c, const char *client_id, uint64_t seq, const char *command,
                       struct client_response *resp, int timeout_ms);
/* The same, marked as a retry from the first attempt: for a request the caller already
 * sent once and whose outcome it does not know. */
int cluster_retry_as(struct cluster *c, const char *client_id, uint64_t seq, const char *command,
                     struct client_response *resp, int timeout_ms);

/* Sends count copies of command to the leader on one connection, keeping up to window
 * requests in flight (seqs first_seq, first_seq + 1, ...), and waits for every answer.
 * Returns how many succeeded, or -1 when the leader could not be reached. */
int cluster_pipeline(struct cluster *c, const char *client_id, uint64_t first_seq, int count,
                     const char *command, int window, int timeout_ms);
/* The same to peer leader, known to lead: no status round first (which would wait for
 * a peer that is stopped). */
int cluster_pipeline_to(struct cluster *c, int leader, const char *client_id, uint64_t first_seq,
                        int count, const char *command, int window, int timeout_ms);

/* Milliseconds on CLOCK_MONOTONIC. */
/* Lines of peer i's log (logs/peer<i>.log) that contain needle; 0 when there is no log. */
int cluster_log_count(const struct cluster *c, int i, const char *needle);

struct subprocess_result;
/* Runs user_cli N -c INI --timeout 10 WORDS... (NULL-terminated) against c, as a user
 * would, giving it a minute (scaled). 0 with res filled (any exit code), or -1 when it
 * could not start or hung. */
int cluster_user_cli(struct cluster *c, struct subprocess_result *res, const char *first, ...)
    __attribute__((sentinel));

uint64_t harness_now_ms(void);
void harness_sleep_ms(int ms);

#endif
