/* measure.h: one closed-loop load run with what the run mode reports around it: the
 * throughput, and the CPU time and run-queue wait of every process involved. */
#ifndef BENCH_MEASURE_H
#define BENCH_MEASURE_H

#include <stddef.h>
#include <stdint.h>

#include "bench/load.h"

struct json_object;

/* load_run, or etcd_load_run: the same options, the same result. */
typedef int (*load_fn)(const struct load_options *o, struct load_result *r, char *err,
                       size_t errlen);

struct measure {
    struct load_result r;
    double ops_per_s;
    double max_wait_share;     /* the largest share of the run any process waited for a CPU,
                                  its threads' waits summed (so above 1 is possible) */
    double cluster_cpu_ms;     /* CPU time of pids[] (every thread) during the run */
    uint64_t run_us;           /* the whole run, warmup included */
    struct json_object *sched; /* [{"process","cpu_ms","runq_wait_ms"}...]; owned, may be NULL */
};

/* Runs fn(lo) while sampling /proc/<pid>/schedstat of the bench itself ("bench") and of
 * pids[0..n) (named names[i]). 0 with m filled (release with measure_free), or -1 with
 * err when the run could not be set up. Each figure sums the threads of a process. */
int measure_run(load_fn fn, const struct load_options *lo, const int *pids,
                const char *const *names, int n, struct measure *m, char *err, size_t errlen);
void measure_free(struct measure *m);

#endif
