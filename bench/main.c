/* main.c: raft_bench, the benchmark tool for issue 6: throughput and latency, failover
 * times, this machine's limits, memory and restart time. See docs/PERFORMANCE.md. */
#include <signal.h>
#include <stdio.h>

#include "bench/modes.h"
#include "bench/options.h"

int main(int argc, char **argv)
{
    struct bench_options o;
    char err[512];
    int rc = options_parse(argc, argv, &o, err, sizeof(err));
    if (rc == 1) {
        options_usage(stdout);
        return 0;
    }
    if (rc != 0) {
        fprintf(stderr, "raft_bench: %s\n", err);
        options_usage(stderr);
        return 2;
    }
    /* A peer that hangs up mid-write must not kill the bench. */
    signal(SIGPIPE, SIG_IGN);
    switch (o.mode) {
    case MODE_RUN:
        return mode_run(&o);
    case MODE_FAILOVER:
        return mode_failover(&o);
    case MODE_LIMITS:
        return mode_limits(&o);
    case MODE_MEMORY:
        return mode_memory(&o);
    case MODE_RESTART:
        return mode_restart(&o);
    case MODE_ETCD:
        return mode_etcd(&o);
    case MODE_STATEMACHINE:
        return mode_statemachine(&o);
    case MODE_FOLLOWER:
        return mode_follower(&o);
    case MODE_SCALE:
        return mode_scale(&o);
    case MODE_FLOOR:
        return mode_floor(&o);
    case MODE_COUNT:
        break;
    }
    return 2;
}
