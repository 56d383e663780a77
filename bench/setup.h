/* setup.h: the cluster a benchmark drives: one the bench starts in a temp dir, or one
 * already running that an ini file describes. */
#ifndef BENCH_SETUP_H
#define BENCH_SETUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench/load.h"
#include "bench/options.h"
#include "tests/lib/cluster.h"

struct bench_cluster {
    struct cluster c; /* valid when own */
    bool own;         /* started by us: we stop it and remove its directory */
    struct load_target targets[LOAD_MAX_TARGETS];
    int n;
};

/* Starts o->peers peers with o's timeouts and log level (or, with -c, reads the
 * file's first o->peers peers) and fills the targets. 0 or -1 with err. */
int bench_cluster_open(struct bench_cluster *bc, const struct bench_options *o, char *err,
                       size_t errlen);
/* Index (0-based) of the leader, waiting up to timeout_ms; for a cluster we did not
 * start, 0: the clients' redirects find it. -1 when none emerged. */
int bench_cluster_leader(struct bench_cluster *bc, int timeout_ms);
void bench_cluster_close(struct bench_cluster *bc);
/* The closed-loop workload o asks for (clients, warmup, window, mix, keys, seed, time
 * limits), aimed at bc's peers starting with leader (bc may be NULL: no targets yet), its
 * client ids starting with id_prefix (may be NULL). A mode changes what differs. */
struct load_options bench_workload(const struct bench_options *o, const struct bench_cluster *bc,
                                   int leader, const char *id_prefix);
/* Opens the cluster and waits up to 10 s for its leader, saying on stderr what went
 * wrong. The leader's index, or -1 with the cluster already closed. */
int bench_cluster_ready(struct bench_cluster *bc, const struct bench_options *o);

/* VmRSS and VmHWM of a process in KiB, from /proc/<pid>/status. 0 or -1. */
int bench_read_rss(int pid, long *rss_kib, long *hwm_kib);
/* Nanoseconds a process has run on a CPU and waited runnable for one, from
 * /proc/<pid>/schedstat. A long wait means the machine, not the peer, set the pace. */
int bench_read_schedstat(int pid, uint64_t *cpu_ns, uint64_t *wait_ns);

#endif
