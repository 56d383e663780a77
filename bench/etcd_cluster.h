/* etcd_cluster.h: an etcd cluster the bench starts and stops itself: n members on
 * 127.0.0.1, each with its own data directory under one temporary directory in /tmp
 * (where our own clusters live, so on the same disk), its own client and peer ports,
 * and etcd's default durability (every WAL write fsynced). */
#ifndef BENCH_ETCD_CLUSTER_H
#define BENCH_ETCD_CLUSTER_H

#include <stddef.h>
#include <sys/types.h>

#include "bench/load.h"

#define ETCD_MAX_MEMBERS 9

struct etcd_cluster {
    int n;
    char dir[256]; /* /tmp/raftvillage-etcd-XXXXXX: m<i>/ data, m<i>.log output */
    pid_t pids[ETCD_MAX_MEMBERS];
    int client_ports[ETCD_MAX_MEMBERS];
    int peer_ports[ETCD_MAX_MEMBERS];
    int holders[2 * ETCD_MAX_MEMBERS];            /* sockets keeping the ports until etcd listens */
    struct load_target targets[ETCD_MAX_MEMBERS]; /* the client URLs, named m1..mn */
};

/* The etcd program to run: given (a path, or a name looked up in $PATH), else $ETCD_BIN,
 * else "etcd" in $PATH. Its path into out, 0; or -1 with err saying what was looked for. */
int etcd_find_binary(const char *given, char *out, size_t outlen, char *err, size_t errlen);

/* Starts n members of bin. 0, or -1 with err (anything started is stopped again). */
int etcd_cluster_start(struct etcd_cluster *ec, int n, const char *bin, char *err, size_t errlen);
/* Waits up to timeout_ms until every member answers its status and they agree on a
 * leader. The leader's index (0-based), or -1 with err. */
int etcd_cluster_leader(struct etcd_cluster *ec, int timeout_ms, char *err, size_t errlen);
/* The last line or so (at most outlen - 1 bytes) of member i's output, for error
 * messages: the directory is gone once the cluster is stopped. "" when none. */
void etcd_cluster_log_tail(const struct etcd_cluster *ec, int i, char *out, size_t outlen);
/* SIGTERM to every member (SIGKILL after 5 s), reaps them, removes the directory (kept
 * when RAFT_KEEP_TEST_DIRS is set). Safe to call twice. */
void etcd_cluster_stop(struct etcd_cluster *ec);

#endif
