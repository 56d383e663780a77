/* mode_restart.c: how long a peer with a big log takes to come back. The log is written
 * straight into peer1's data directory with the storage module (term 1, valid command
 * payloads), then bin/raft_peer is started on it and timed from fork+exec to its first
 * status answer. Peers 2 and 3 stay down, so nothing but loading is measured; a last
 * start as a 1-peer cluster also times electing itself and applying the whole log. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bench/latency.h"
#include "bench/modes.h"
#include "bench/report.h"
#include "bench/setup.h"
#include "raft_peer/storage/storage.h"

#define WRITE_BATCH    4096
#define START_LIMIT_MS 120000 /* give up on a start after this long */

static int write_log(const char *dir, long entries, char *err, size_t errlen)
{
    struct storage *s = NULL;
    struct storage_boot boot;
    struct raft_entry *batch = calloc(WRITE_BATCH, sizeof(*batch));
    char(*payloads)[64] = calloc(WRITE_BATCH, 64);
    int rc = -1;
    if (!batch || !payloads) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    if (storage_open(dir, 0, &s, &boot, err, errlen) != 0)
        goto out;
    storage_boot_free(&boot);
    if (storage_save_hard_state(s, 1, 0, err, errlen) != 0)
        goto out;
    for (long done = 0; done < entries;) {
        size_t n = entries - done < WRITE_BATCH ? (size_t)(entries - done) : WRITE_BATCH;
        for (size_t i = 0; i < n; i++) {
            long seq = done + (long)i + 1;
            int len = snprintf(payloads[i], 64, "bench-restart %ld k%ld add 1", seq, seq % 1000);
            batch[i] = (struct raft_entry){.term = 1,
                                           .type = RAFT_ENTRY_COMMAND,
                                           .len = (uint32_t)len,
                                           .data = (uint8_t *)payloads[i]};
        }
        if (storage_append(s, storage_last_index(s) + 1, batch, n, err, errlen) != 0)
            goto out;
        done += (long)n;
    }
    if (storage_sync(s, err, errlen) != 0)
        goto out;
    rc = 0;
out:
    storage_close(s);
    free(batch);
    free(payloads);
    return rc;
}

/* The floor of a restart: the storage module loading the same directory in-process,
 * as raft_peer must before anything else. Microseconds, or -1. */
static int64_t time_load(const char *dir, long entries, char *err, size_t errlen)
{
    struct storage *s = NULL;
    struct storage_boot boot;
    uint64_t t0 = bench_now_us();
    int rc = storage_open(dir, 0, &s, &boot, err, errlen);
    int64_t us = (int64_t)(bench_now_us() - t0);
    if (rc == 0 && boot.n_entries != (size_t)entries) {
        snprintf(err, errlen, "loaded %zu entries, not %ld", boot.n_entries, entries);
        rc = -1;
    }
    storage_boot_free(&boot);
    storage_close(s);
    return rc == 0 ? us : -1;
}

static pid_t spawn_peer(struct cluster *c, int n)
{
    char prog[1100], count[16], out[400];
    snprintf(prog, sizeof(prog), "%s/raft_peer", c->bin_dir);
    snprintf(count, sizeof(count), "%d", n);
    snprintf(out, sizeof(out), "%s/peer1.stderr", c->dir);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(out, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execl(prog, prog, "peer1", count, "-c", c->ini, (char *)NULL);
        _exit(127);
    }
    if (pid > 0)
        c->pids[1] = pid; /* so cluster_stop kills it whatever happens */
    return pid;
}

/* Polls status every millisecond until done() holds; the time since t0, or -1. */
static int64_t wait_status(struct cluster *c, uint64_t t0,
                           bool (*done)(const struct peer_status *, uint64_t), uint64_t arg,
                           struct peer_status *st)
{
    while (bench_now_us() - t0 < (uint64_t)START_LIMIT_MS * 1000u) {
        if (cluster_status(c, 1, st) == 0 && done(st, arg))
            return (int64_t)(bench_now_us() - t0);
        if (!cluster_peer_alive(c, 1))
            return -1;
        harness_sleep_ms(1);
    }
    return -1;
}

static bool answered(const struct peer_status *st, uint64_t unused)
{
    (void)st;
    (void)unused;
    return true;
}

static bool applied_all(const struct peer_status *st, uint64_t index)
{
    return !strcmp(st->role, "leader") && st->last_applied >= index;
}

int mode_restart(const struct bench_options *o)
{
    char err[512];
    struct cluster c;
    struct cluster_options copt = {.log_level = o->log_level,
                                   .election_timeout_min = o->timeout_min,
                                   .election_timeout_max = o->timeout_max,
                                   .heartbeat_interval = o->heartbeat};
    struct latency starts;
    latency_init(&starts);
    int status = 2;
    if (cluster_prepare(&c, 3, &copt) != 0) {
        fprintf(stderr, "raft_bench: cannot prepare a cluster directory\n");
        return 2;
    }
    char dir[400];
    snprintf(dir, sizeof(dir), "%s/data/peer1", c.dir);
    uint64_t t0 = bench_now_us();
    if (write_log(dir, o->entries, err, sizeof(err)) != 0) {
        fprintf(stderr, "raft_bench: writing the log: %s\n", err);
        goto out;
    }
    uint64_t write_us = bench_now_us() - t0;
    struct latency loads;
    latency_init(&loads);
    for (int r = 0; r < o->restarts; r++) {
        int64_t us = time_load(dir, o->entries, err, sizeof(err));
        if (us < 0) {
            fprintf(stderr, "raft_bench: loading the log in-process: %s\n", err);
            latency_free(&loads);
            goto out;
        }
        latency_add(&loads, (uint64_t)us);
    }
    uint64_t load_us = latency_percentile(&loads, 50);
    latency_free(&loads);
    long rss = -1, hwm = -1;
    for (int r = 0; r < o->restarts; r++) {
        struct peer_status st;
        t0 = bench_now_us();
        if (spawn_peer(&c, 3) < 0)
            goto out;
        int64_t us = wait_status(&c, t0, answered, 0, &st);
        if (us < 0 || st.log_length < (uint64_t)o->entries) {
            fprintf(stderr, "raft_bench: restart %d: no status with the whole log (see %s)\n",
                    r + 1, c.dir);
            goto out;
        }
        latency_add(&starts, (uint64_t)us);
        bench_read_rss(c.pids[1], &rss, &hwm);
        cluster_kill_peer(&c, 1, SIGKILL);
    }
    /* Alone, peer1 elects itself, appends its no-op and applies everything. The starts
     * above stored the 3-peer configuration they began with (data/peer1/bootstrap, which
     * then wins over N: docs/MEMBERSHIP.md); without it, N = 1 bootstraps a cluster of
     * one from the same log, whose entries are all commands. */
    char bootstrap[sizeof(c.dir) + 32];
    snprintf(bootstrap, sizeof(bootstrap), "%s/data/peer1/bootstrap", c.dir);
    if (unlink(bootstrap) != 0 && errno != ENOENT) {
        fprintf(stderr, "raft_bench: cannot remove %s: %s\n", bootstrap, strerror(errno));
        goto out;
    }
    struct peer_status st;
    t0 = bench_now_us();
    if (spawn_peer(&c, 1) < 0)
        goto out;
    int64_t apply_us = wait_status(&c, t0, applied_all, (uint64_t)o->entries + 1, &st);
    long rss_applied = -1, hwm_applied = -1;
    bench_read_rss(c.pids[1], &rss_applied, &hwm_applied);
    cluster_kill_peer(&c, 1, SIGKILL);

    char a[32], b[32], m[32], w[32], p[32], l[32];
    if (!o->json) {
        if (!o->no_header)
            printf("%-9s %9s %9s %7s %9s %9s %9s %10s %14s %11s\n", "entries", "write_ms",
                   "load_ms", "starts", "min_ms", "p50_ms", "max_ms", "rss_KiB", "1peer_apply_ms",
                   "rss_app_KiB");
        printf("%-9ld %9s %9s %7zu %9s %9s %9s %10ld %14s %11ld\n", o->entries,
               report_ms(w, (double)write_us), report_ms(l, (double)load_us), starts.n,
               report_ms(a, (double)latency_min(&starts)),
               report_ms(m, (double)latency_percentile(&starts, 50)),
               report_ms(b, (double)latency_max(&starts)), rss,
               apply_us >= 0 ? report_ms(p, (double)apply_us) : "failed", rss_applied);
    }
    struct json_object *obj = report_new(o);
    if (obj) {
        json_object_object_add(obj, "entries", json_object_new_int64(o->entries));
        json_object_object_add(obj, "write_us", json_object_new_uint64(write_us));
        json_object_object_add(obj, "storage_load_us", json_object_new_uint64(load_us));
        json_object_object_add(obj, "start_to_status_us", report_latency(&starts));
        json_object_object_add(obj, "rss_kib_loaded", json_object_new_int64(rss));
        json_object_object_add(obj, "single_peer_apply_us", json_object_new_int64(apply_us));
        json_object_object_add(obj, "rss_kib_applied", json_object_new_int64(rss_applied));
        if (report_emit(o, obj, err, sizeof(err)) != 0)
            fprintf(stderr, "raft_bench: %s\n", err);
    }
    status = apply_us >= 0 ? 0 : 1;
out:
    latency_free(&starts);
    cluster_stop(&c);
    return status;
}
