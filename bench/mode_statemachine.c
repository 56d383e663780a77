/* mode_statemachine.c: the state machine alone, in this process, no peers: apply N
 * `kI set I` entries (I = 0..N-1, the names the run mode uses, one client) and time
 * each sm_apply, then the resident memory the N variables added, then a snapshot
 * encode and a decode into a fresh machine. Shows what one apply can cost at scale (a table growth)
 * and what snapshots cost, without the noise of a cluster. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bench/modes.h"
#include "bench/report.h"
#include "bench/setup.h"
#include "raft_peer/sm/state_machine.h"

/* Wall time, and this thread's CPU time: on a shared machine a preempted call shows a
 * long wall time but not a long CPU time, so both are reported. */
static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

struct dist {
    double worst, p50, p999, mean;
    long worst_at;
    long over_1ms, over_5ms;
};

static void summarise(double *v, long n, struct dist *d)
{
    double total = 0;
    d->worst = 0;
    d->worst_at = 0;
    d->over_1ms = d->over_5ms = 0;
    for (long i = 0; i < n; i++) {
        total += v[i];
        d->over_1ms += v[i] > 1.0;
        d->over_5ms += v[i] > 5.0;
        if (v[i] > d->worst) {
            d->worst = v[i];
            d->worst_at = i;
        }
    }
    d->mean = total / (double)n;
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    d->p50 = v[n / 2];
    d->p999 = v[(size_t)((double)n * 0.999)];
}

static void add_dist(struct json_object *obj, const char *key, const struct dist *d)
{
    struct json_object *o = json_object_new_object();
    if (o == NULL)
        return;
    json_object_object_add(o, "mean_ms", json_object_new_double(d->mean));
    json_object_object_add(o, "p50_ms", json_object_new_double(d->p50));
    json_object_object_add(o, "p999_ms", json_object_new_double(d->p999));
    json_object_object_add(o, "worst_ms", json_object_new_double(d->worst));
    json_object_object_add(o, "worst_at", json_object_new_int64(d->worst_at));
    json_object_object_add(o, "over_1ms", json_object_new_int64(d->over_1ms));
    json_object_object_add(o, "over_5ms", json_object_new_int64(d->over_5ms));
    json_object_object_add(obj, key, o);
}

int mode_statemachine(const struct bench_options *o)
{
    long n = o->entries;
    double *wall = malloc((size_t)n * sizeof(*wall));
    double *cpu = malloc((size_t)n * sizeof(*cpu));
    long rss0, rss1, rss2, hwm;
    struct state_machine *sm = sm_new(), *copy = sm_new();
    uint8_t *snap = NULL;
    size_t snap_len = 0;
    int status = 1;
    if (wall == NULL || cpu == NULL || sm == NULL || copy == NULL) {
        fprintf(stderr, "raft_bench: out of memory\n");
        goto out;
    }
    /* The timing arrays resident before the baseline, so VmRSS added is the table's. */
    memset(wall, 0, (size_t)n * sizeof(*wall));
    memset(cpu, 0, (size_t)n * sizeof(*cpu));
    if (bench_read_rss((int)getpid(), &rss0, &hwm) != 0) {
        fprintf(stderr, "raft_bench: cannot read /proc/self/status\n");
        goto out;
    }

    for (long i = 0; i < n; i++) {
        char cmd[64], payload[SM_PAYLOAD_MAX + 1];
        struct sm_result r;
        snprintf(cmd, sizeof(cmd), "k%ld set %ld", i, i);
        int len = sm_encode_command(payload, sizeof(payload), "bench", (uint64_t)i + 1, false, cmd);
        double w0 = now_ms(), c0 = cpu_ms();
        int rc =
            len < 0 ? -1 : sm_apply(sm, (uint64_t)i + 1, (const uint8_t *)payload, (size_t)len, &r);
        cpu[i] = cpu_ms() - c0;
        wall[i] = now_ms() - w0;
        if (rc != 0 || !r.ok) {
            fprintf(stderr, "raft_bench: apply %ld failed: %s\n", i, rc != 0 ? "-1" : r.error);
            goto out;
        }
    }
    bench_read_rss((int)getpid(), &rss1, &hwm);
    struct dist dw, dc;
    summarise(wall, n, &dw);
    summarise(cpu, n, &dc);

    double w0 = now_ms(), c0 = cpu_ms();
    if (sm_snapshot_encode(sm, &snap, &snap_len) != 0) {
        fprintf(stderr, "raft_bench: encode failed\n");
        goto out;
    }
    double enc_cpu = cpu_ms() - c0, enc_wall = now_ms() - w0;
    char err[256];
    w0 = now_ms();
    c0 = cpu_ms();
    if (sm_snapshot_decode(copy, snap, snap_len, err, sizeof(err)) != 0) {
        fprintf(stderr, "raft_bench: decode failed: %s\n", err);
        goto out;
    }
    double dec_cpu = cpu_ms() - c0, dec_wall = now_ms() - w0;
    bench_read_rss((int)getpid(), &rss2, &hwm);
    if (sm_count(copy) != (size_t)n) {
        fprintf(stderr, "raft_bench: decoded %zu variables of %ld\n", sm_count(copy), n);
        goto out;
    }

    double bytes_per_var = (double)(rss1 - rss0) * 1024.0 / (double)n;
    if (!o->json) {
        printf("variables            %ld\n", n);
        printf("apply, CPU time      mean %.4f ms, p50 %.4f, p99.9 %.4f, worst %.3f ms (apply "
               "%ld); %ld over 1 ms, %ld over 5 ms\n",
               dc.mean, dc.p50, dc.p999, dc.worst, dc.worst_at, dc.over_1ms, dc.over_5ms);
        printf("apply, wall time     mean %.4f ms, p50 %.4f, p99.9 %.4f, worst %.3f ms (apply "
               "%ld); %ld over 1 ms, %ld over 5 ms\n",
               dw.mean, dw.p50, dw.p999, dw.worst, dw.worst_at, dw.over_1ms, dw.over_5ms);
        printf("VmRSS added          %ld KiB (%.1f bytes per variable)\n", rss1 - rss0,
               bytes_per_var);
        printf("snapshot             %zu bytes\n", snap_len);
        printf("encode               %.1f ms CPU, %.1f ms wall\n", enc_cpu, enc_wall);
        printf("decode               %.1f ms CPU, %.1f ms wall\n", dec_cpu, dec_wall);
        printf("VmRSS with the copy  %ld KiB (VmHWM %ld KiB)\n", rss2, hwm);
        printf("  target: no single apply over 5 ms: worst %.3f ms of wall time (%s)\n", dw.worst,
               dw.over_5ms == 0 ? "met" : "NOT met");
        printf("  target: snapshot decode no slower than encode: %.2fx of wall time (%s)\n",
               dec_wall / enc_wall, dec_wall <= enc_wall ? "met" : "NOT met");
    }
    struct json_object *obj = report_new(o);
    if (obj) {
        json_object_object_add(obj, "variables", json_object_new_int64(n));
        add_dist(obj, "apply_cpu", &dc);
        add_dist(obj, "apply_wall", &dw);
        json_object_object_add(obj, "rss_added_kib", json_object_new_int64(rss1 - rss0));
        json_object_object_add(obj, "bytes_per_variable", json_object_new_double(bytes_per_var));
        json_object_object_add(obj, "snapshot_bytes", json_object_new_int64((int64_t)snap_len));
        json_object_object_add(obj, "encode_cpu_ms", json_object_new_double(enc_cpu));
        json_object_object_add(obj, "encode_wall_ms", json_object_new_double(enc_wall));
        json_object_object_add(obj, "decode_cpu_ms", json_object_new_double(dec_cpu));
        json_object_object_add(obj, "decode_wall_ms", json_object_new_double(dec_wall));
        if (report_emit(o, obj, err, sizeof(err)) != 0)
            fprintf(stderr, "raft_bench: %s\n", err);
    }
    status = 0;
out:
    free(snap);
    free(wall);
    free(cpu);
    sm_free(sm);
    sm_free(copy);
    return status;
}
