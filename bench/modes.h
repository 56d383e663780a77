/* modes.h: raft_bench's modes; each runs, prints its table (or JSON) and returns the
 * exit status: 0 when the measurement is complete, 1 when it ran but something went
 * wrong (reported), 2 when it could not run at all. */
#ifndef BENCH_MODES_H
#define BENCH_MODES_H

#include "bench/options.h"

int mode_run(const struct bench_options *o);
int mode_failover(const struct bench_options *o);
int mode_limits(const struct bench_options *o);
int mode_memory(const struct bench_options *o);
int mode_restart(const struct bench_options *o);
int mode_etcd(const struct bench_options *o);
int mode_statemachine(const struct bench_options *o);
int mode_follower(const struct bench_options *o);
int mode_scale(const struct bench_options *o);
int mode_floor(const struct bench_options *o);

/* What no 1-client write can beat on this machine, as p50s in us. */
struct floor_parts {
    double fsync_us;          /* one small write + fdatasync into a preallocated file */
    double majority_fsync_us; /* the same by `peers` writers at once, until a majority is done */
    double rtt_us;            /* one request line to another process and back, loopback */
};

/* mode_limits.c: measures the floor's parts, `samples` of each. 0, or -1 with err. */
int limits_floor(int samples, int peers, struct floor_parts *f, char *err, size_t errlen);

#endif
