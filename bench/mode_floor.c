/* mode_floor.c: one client's write latency against what no implementation on this machine
 * can beat: the client's request to the leader and its answer (one loopback round trip),
 * the leader's AppendEntries to a follower and its acknowledgement (another), and one
 * fdatasync of a small write into a preallocated file, each taken as its median. The
 * floor is measured just before and just after the run, because the machine drifts
 * more than the cluster between runs; the ratio is against their mean.
 *
 * That floor assumes each peer has a disk of its own. Here the peers share one, and a
 * commit needs a majority of them to have synced: their syncs queue behind each other's
 * cache flushes, so the disk's share is the time until a majority of writers syncing
 * together are done (bench/fsync_round.h). The run is set against both floors. */
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bench/load.h"
#include "bench/measure.h"
#include "bench/modes.h"
#include "bench/report.h"
#include "bench/setup.h"

#define TARGET_RATIO 1.2

static double write_floor(const struct floor_parts *f, bool shared_disk)
{
    return 2 * f->rtt_us + (shared_disk ? f->majority_fsync_us : f->fsync_us);
}

int mode_floor(const struct bench_options *o)
{
    char err[512];
    struct floor_parts f0, f1;
    if (limits_floor(o->samples, o->peers, &f0, err, sizeof(err)) != 0) {
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
    if (limits_floor(o->samples, o->peers, &f1, err, sizeof(err)) != 0) {
        fprintf(stderr, "raft_bench: floor after: %s\n", err);
        load_result_free(&r);
        return 2;
    }
    double p50 = (double)latency_percentile(&r.writes, 50);
    double own = (write_floor(&f0, false) + write_floor(&f1, false)) / 2;
    double shared = (write_floor(&f0, true) + write_floor(&f1, true)) / 2;
    double fsync = (f0.fsync_us + f1.fsync_us) / 2;
    double majority = (f0.majority_fsync_us + f1.majority_fsync_us) / 2;
    double rtt = (f0.rtt_us + f1.rtt_us) / 2;
    if (!o->json) {
        char a[32], b[32], c[32], d[32], e[32], g[32];
        if (!o->no_header)
            printf("%-5s %9s %9s %9s %9s %9s %9s %7s %7s\n", "peers", "w.p50ms", "rtt", "fsync",
                   "maj.sync", "floor", "shared", "ratio", "shared");
        printf("%-5d %9s %9s %9s %9s %9s %9s %6.2fx %6.2fx\n", o->peers, report_ms(a, p50),
               report_ms(b, rtt), report_ms(c, fsync), report_ms(d, majority), report_ms(e, own),
               report_ms(g, shared), p50 / own, p50 / shared);
        printf("  target: 1-client write p50 within %.1fx of 2 round trips + 1 fsync: %.2fx "
               "(%s)\n",
               TARGET_RATIO, p50 / own, p50 / own <= TARGET_RATIO ? "met" : "NOT met");
        if (o->peers > 1)
            printf("  the same where the %d peers share this disk (2 round trips + %d of %d "
                   "fsyncs together): %.2fx (%s); that floor is itself %.2fx the first\n",
                   o->peers, o->peers / 2 + 1, o->peers, p50 / shared,
                   p50 / shared <= TARGET_RATIO ? "met" : "NOT met", shared / own);
    }
    struct json_object *obj = report_new(o);
    if (obj) {
        json_object_object_add(obj, "write_latency_us", report_latency(&r.writes));
        json_object_object_add(obj, "floor_before_us",
                               json_object_new_double(write_floor(&f0, false)));
        json_object_object_add(obj, "floor_after_us",
                               json_object_new_double(write_floor(&f1, false)));
        json_object_object_add(obj, "shared_disk_floor_us", json_object_new_double(shared));
        json_object_object_add(obj, "fsync_p50_us", json_object_new_double(fsync));
        json_object_object_add(obj, "majority_fsync_p50_us", json_object_new_double(majority));
        json_object_object_add(obj, "rtt_p50_us", json_object_new_double(rtt));
        json_object_object_add(obj, "ratio", json_object_new_double(p50 / own));
        json_object_object_add(obj, "shared_disk_ratio", json_object_new_double(p50 / shared));
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
