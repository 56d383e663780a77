/* mode_floor.c: one client's write latency against what no implementation on this machine
 * can beat: the client's request to the leader and its answer (one loopback round trip),
 * the leader's AppendEntries to a follower and its acknowledgement (another), and one
 * fdatasync of a small write into a preallocated file, each taken as its median. The
 * floor is measured just before and just after the run, because the machine drifts
 * more than the cluster between runs; the ratio is against their mean. */
#include <stdio.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bench/load.h"
#include "bench/measure.h"
#include "bench/modes.h"
#include "bench/report.h"
#include "bench/setup.h"

#define TARGET_RATIO 1.2

int mode_floor(const struct bench_options *o)
{
    char err[512];
    double fs0, rtt0, fs1, rtt1;
    if (limits_floor(o->samples, &fs0, &rtt0, err, sizeof(err)) != 0) {
        fprintf(stderr, "raft_bench: floor before: %s\n", err);
        return 2;
    }
    struct bench_cluster bc;
    int leader = bench_cluster_ready(&bc, o);
    if (leader < 0)
        return 2;
    int status = 2;
    char prefix[48];
    snprintf(prefix, sizeof(prefix), "floor-%d", (int)getpid());
    struct load_options lo = bench_workload(o, &bc, leader, prefix);
    lo.clients = 1;
    struct load_result r;
    if (load_run(&lo, &r, err, sizeof(err)) != 0) {
        fprintf(stderr, "raft_bench: %s\n", err);
        goto out;
    }
    bench_cluster_close(&bc);
    if (limits_floor(o->samples, &fs1, &rtt1, err, sizeof(err)) != 0) {
        fprintf(stderr, "raft_bench: floor after: %s\n", err);
        load_result_free(&r);
        return 2;
    }
    double p50 = (double)latency_percentile(&r.writes, 50);
    double floor0 = 2 * rtt0 + fs0, floor1 = 2 * rtt1 + fs1;
    double ratio = p50 / ((floor0 + floor1) / 2);
    if (!o->json) {
        char a[32], b[32], c[32], d[32], e[32];
        if (!o->no_header)
            printf("%-5s %10s %10s %10s %10s %10s %7s\n", "peers", "w.p50ms", "fsync0", "rtt0",
                   "fsync1", "rtt1", "ratio");
        printf("%-5d %10s %10s %10s %10s %10s %6.2fx\n", o->peers, report_ms(a, p50),
               report_ms(b, fs0), report_ms(c, rtt0), report_ms(d, fs1), report_ms(e, rtt1), ratio);
        printf("  target: 1-client write p50 within %.1fx of 2 round trips + 1 fsync: %.2fx "
               "(%s)\n",
               TARGET_RATIO, ratio, ratio <= TARGET_RATIO ? "met" : "NOT met");
    }
    struct json_object *obj = report_new(o);
    if (obj) {
        json_object_object_add(obj, "write_latency_us", report_latency(&r.writes));
        json_object_object_add(obj, "floor_before_us", json_object_new_double(floor0));
        json_object_object_add(obj, "floor_after_us", json_object_new_double(floor1));
        json_object_object_add(obj, "fsync_p50_us", json_object_new_double((fs0 + fs1) / 2));
        json_object_object_add(obj, "rtt_p50_us", json_object_new_double((rtt0 + rtt1) / 2));
        json_object_object_add(obj, "ratio", json_object_new_double(ratio));
        if (report_emit(o, obj, err, sizeof(err)) != 0)
            fprintf(stderr, "raft_bench: %s\n", err);
    }
    status = r.bad == 0 && r.writes.n > 0 ? 0 : 1;
    load_result_free(&r);
    return status;
out:
    bench_cluster_close(&bc);
    return status;
}
