/* chaos_cluster.h: the chaos run's peers: an ini in a fresh directory, each peer started in
 * its own network namespace, crashed, frozen, thawed, restarted, wiped and started again as
 * a joining peer on demand, and asked for its status. */
#ifndef TESTS_CHAOS_CHAOS_CLUSTER_H
#define TESTS_CHAOS_CHAOS_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tests/chaos/netfault.h"

#define CHAOS_MAX_PEERS NETFAULT_MAX_PEERS

struct chaos_peer {
    char name[16]; /* peerI */
    char host[64]; /* where it listens (and where everyone reaches it) */
    int port;
    int port_holder; /* on a shared loopback: keeps port bound for the peer, else -1 */
    pid_t pid;       /* 0 when not running */
    bool frozen;     /* SIGSTOPped by us */
    bool member;     /* in the configuration (or being added): kept running, faulted, checked */
    bool join;       /* started with --join (its data directory was wiped or never used) */
};

struct chaos_cluster {
    int n;         /* peers in the ini: the address book */
    int bootstrap; /* the N of `raft_peer NAME N`: peers 1..bootstrap start as voters */
    char dir[256]; /* holds raft.ini, data/, logs/, peerI.out */
    char ini[320];
    char prog[1100]; /* raft_peer */
    struct netfault *nf;
    struct chaos_peer peer[CHAOS_MAX_PEERS + 1]; /* by number, 1..n */
};

struct chaos_status {
    char role[24];
    uint64_t term;
    int leader; /* peer number, 0 when none */
    uint64_t commit_index;
    uint64_t last_applied;
    uint64_t log_length;
    bool stopped; /* the peer's disk failed */
    /* The configuration it uses, as bit masks over peer numbers (bit i: peer i). */
    unsigned voters;
    unsigned learners;
    bool config_pending;
};

/* Makes the directory and the ini of n peers (extra_raft: more lines for [raft], may be
 * NULL); peers 1..bootstrap are the members, started as `raft_peer NAME bootstrap`, the
 * others spares that membership changes may add. No peer is started. 0 or -1 with err. */
int chaos_cluster_create(struct chaos_cluster *c, int n, int bootstrap, struct netfault *nf,
                         const char *bin_dir, const char *extra_raft, char *err, size_t errlen);
/* Starts peer i in its namespace the way it was started first (`NAME bootstrap`, or
 * `NAME --join` once wiped) and waits (up to 10 s) until it accepts connections.
 * Its output goes to dir/peerI.out. 0 or -1 with err. */
int chaos_cluster_start(struct chaos_cluster *c, int i, char *err, size_t errlen);
/* SIGKILL (a power cut) and reap. */
void chaos_cluster_kill(struct chaos_cluster *c, int i);
/* SIGSTOP (true) or SIGCONT (false). */
void chaos_cluster_freeze(struct chaos_cluster *c, int i, bool frozen);
/* Whether peer i exited on its own: 1 with its wait status in *status (and pid cleared),
 * 0 when running or not started. */
int chaos_cluster_exited(struct chaos_cluster *c, int i, int *status);
/* A replaced machine: peer i (dead) loses its whole data directory (emptied, the emptying
 * made durable, the directory itself kept: it may be a lazyfs mount) and will start with
 * --join from now on. 0 or -1 with err. */
int chaos_cluster_wipe(struct chaos_cluster *c, int i, char *err, size_t errlen);
/* The members' numbers in order into out (size CHAOS_MAX_PEERS); how many. */
int chaos_cluster_members(const struct chaos_cluster *c, int *out);
/* Kills every peer, frees their ports; removes the directory unless keep_dir. */
void chaos_cluster_destroy(struct chaos_cluster *c, bool keep_dir);

/* One line to host:port, one line back (without its newline). 0 or -1. */
int chaos_exchange(const char *host, int port, const char *line, char *out, size_t outlen,
                   int timeout_ms);
/* Peer i's {"type":"status"}. 0 or -1 (no answer or a malformed one). */
int chaos_cluster_status(const struct chaos_cluster *c, int i, struct chaos_status *st,
                         int timeout_ms);
/* The peer number in "peerI" of this cluster, 0 if none. */
int chaos_peer_number(const struct chaos_cluster *c, const char *name);
/* Waits until exactly one answering peer says it leads in the highest term any of them
 * reports. Its number, or -1 after timeout_ms. */
int chaos_cluster_find_leader(const struct chaos_cluster *c, int timeout_ms);

/* Microseconds and milliseconds on CLOCK_MONOTONIC. */
uint64_t chaos_now_us(void);
uint64_t chaos_now_ms(void);
void chaos_sleep_ms(int ms);

#endif
