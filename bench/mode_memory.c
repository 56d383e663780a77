/* mode_memory.c: resident memory of idle peers (VmRSS from /proc/<pid>/status), once a
 * leader is elected and the cluster has been quiet for a while. */
#include <stdio.h>

#include <json-c/json.h>

#include "bench/modes.h"
#include "bench/report.h"
#include "bench/setup.h"

/* Long enough for start-up allocations to settle and a few thousand heartbeats to pass
 * at the short settings, short enough for `make bench`. */
#define IDLE_MS 3000

int mode_memory(const struct bench_options *o)
{
    char err[512];
    struct bench_cluster bc;
    int leader = bench_cluster_ready(&bc, o);
    if (leader < 0)
        return 2;
    int status = 2;
    harness_sleep_ms(IDLE_MS);
    long rss[LOAD_MAX_TARGETS], hwm[LOAD_MAX_TARGETS], max_rss = 0;
    for (int i = 0; i < bc.n; i++) {
        if (bench_read_rss(bc.c.pids[i + 1], &rss[i], &hwm[i]) != 0) {
            fprintf(stderr, "raft_bench: cannot read /proc/%d/status\n", (int)bc.c.pids[i + 1]);
            goto out;
        }
        if (rss[i] > max_rss)
            max_rss = rss[i];
    }
    if (!o->json) {
        if (!o->no_header)
            printf("%-6s %-8s %10s %10s\n", "peer", "role", "VmRSS_KiB", "VmHWM_KiB");
        for (int i = 0; i < bc.n; i++)
            printf("%-6s %-8s %10ld %10ld\n", bc.targets[i].name,
                   i == leader ? "leader" : "follower", rss[i], hwm[i]);
    }
    struct json_object *obj = report_new(o);
    if (obj) {
        struct json_object *arr = json_object_new_array();
        for (int i = 0; i < bc.n && arr; i++) {
            struct json_object *p = json_object_new_object();
            json_object_object_add(p, "peer", json_object_new_string(bc.targets[i].name));
            json_object_object_add(p, "leader", json_object_new_boolean(i == leader));
            json_object_object_add(p, "rss_kib", json_object_new_int64(rss[i]));
            json_object_object_add(p, "hwm_kib", json_object_new_int64(hwm[i]));
            json_object_array_add(arr, p);
        }
        json_object_object_add(obj, "idle_ms", json_object_new_int(IDLE_MS));
        json_object_object_add(obj, "peers_rss", arr);
        json_object_object_add(obj, "max_rss_kib", json_object_new_int64(max_rss));
        if (report_emit(o, obj, err, sizeof(err)) != 0)
            fprintf(stderr, "raft_bench: %s\n", err);
    }
    status = 0;
out:
    bench_cluster_close(&bc);
    return status;
}
