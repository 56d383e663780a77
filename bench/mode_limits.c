/* mode_limits.c: this machine's floor, measured through the project's own code paths:
 * one small entry appended and synced with raft_peer/storage/storage.h, and one JSON line
 * echoed over TCP loopback with TCP_NODELAY through common/net.h. A 3-peer write can
 * not beat 2 round trips (client to leader, leader to follower) plus 1 fsync. When the
 * peers share one disk, the leader and its followers sync at the same moment, so the
 * fsync is also measured with that many writers syncing at once. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bench/fsync_round.h"
#include "bench/latency.h"
#include "bench/modes.h"
#include "bench/report.h"
#include "bench/setup.h"
#include "common/config.h"
#include "common/net.h"
#include "raft_peer/storage/storage.h"

/* Stop sampling after this long even if fewer samples were taken: a slow disk must not
 * hold `make bench` hostage. */
#define LIMIT_BUDGET_US 8000000u

static int remove_tree(const char *dir)
{
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd);
}

/* The other peers' syncs, when they share the disk: background writers append and sync
 * without pause, each in a directory of its own, from before the measured writer starts
 * until it is done. */
struct shared_disk {
    atomic_bool stop;  /* the measured writer is done */
    atomic_int ready;  /* background writers that have synced at least once */
    atomic_int failed; /* background writers that stopped on an error */
};

/* Append + sync of one ~40-byte entry per sample, exactly as the leader persists a lone
 * command, in a fresh data directory on the filesystem that holds the clusters (/tmp).
 * The measured writer (bg NULL) records each sample into lat and stops after `samples`
 * or its time budget; a background writer records nothing and stops when told. */
static int measure_fsync(int samples, struct latency *lat, struct shared_disk *bg, char *err,
                         size_t errlen)
{
    char dir[64] = "/tmp/raftvillage-limits-XXXXXX";
    if (!mkdtemp(dir)) {
        snprintf(err, errlen, "mkdtemp: %s", strerror(errno));
        if (bg)
            atomic_fetch_add(&bg->failed, 1);
        return -1;
    }
    char data_dir[96];
    snprintf(data_dir, sizeof(data_dir), "%s/peer1", dir);
    struct storage *s = NULL;
    struct storage_boot boot;
    int rc = -1;
    if (storage_open(data_dir, 0, &s, &boot, err, errlen) != 0)
        goto out;
    storage_boot_free(&boot);
    if (storage_save_hard_state(s, 1, 0, err, errlen) != 0)
        goto out;
    char payload[64];
    uint64_t budget_end = bench_now_us() + LIMIT_BUDGET_US;
    for (int i = 0; bg ? !atomic_load(&bg->stop) : i < samples && bench_now_us() < budget_end;
         i++) {
        int len = snprintf(payload, sizeof(payload), "bench-limits-0 %08d k1 add 1", i + 1);
        struct raft_entry e = {.term = 1,
                               .type = RAFT_ENTRY_COMMAND,
                               .len = (uint32_t)len,
                               .data = (uint8_t *)payload};
        uint64_t t0 = bench_now_us();
        if (storage_append(s, storage_last_index(s) + 1, &e, 1, err, errlen) != 0 ||
            storage_sync(s, err, errlen) != 0)
            goto out;
        if (lat)
            latency_add(lat, bench_now_us() - t0);
        if (bg && i == 0)
            atomic_fetch_add(&bg->ready, 1);
    }
    rc = 0;
out:
    if (rc != 0 && bg)
        atomic_fetch_add(&bg->failed, 1);
    storage_close(s);
    remove_tree(dir);
    return rc;
}

struct background_writer {
    pthread_t thread;
    struct shared_disk *disk;
    char err[256];
};

static void *background_writer_main(void *arg)
{
    struct background_writer *w = arg;
    measure_fsync(0, NULL, w->disk, w->err, sizeof(w->err));
    return NULL;
}

/* The measured writer's fsync while `writers - 1` others keep the same disk busy. */
static int measure_fsync_shared(int samples, int writers, struct latency *lat, char *err,
                                size_t errlen)
{
    struct shared_disk disk;
    atomic_init(&disk.stop, false);
    atomic_init(&disk.ready, 0);
    atomic_init(&disk.failed, 0);
    struct background_writer bg[CONFIG_MAX_PEERS];
    int wanted = writers - 1 < CONFIG_MAX_PEERS ? writers - 1 : CONFIG_MAX_PEERS;
    int started = 0;
    for (; started < wanted; started++) {
        bg[started].disk = &disk;
        bg[started].err[0] = '\0';
        if (pthread_create(&bg[started].thread, NULL, background_writer_main, &bg[started]) != 0)
            break;
    }
    /* Measure only once every background writer is syncing, so no sample runs alone. */
    uint64_t setup_end = bench_now_us() + LIMIT_BUDGET_US;
    while (started == wanted && atomic_load(&disk.ready) + atomic_load(&disk.failed) < wanted &&
           bench_now_us() < setup_end)
        usleep(1000);
    int rc = -1;
    if (started != wanted)
        snprintf(err, errlen, "cannot start %d background writers", wanted);
    else if (atomic_load(&disk.ready) < wanted)
        snprintf(err, errlen, "a background writer did not get going");
    else
        rc = measure_fsync(samples, lat, NULL, err, errlen);
    atomic_store(&disk.stop, true);
    for (int i = 0; i < started; i++) {
        pthread_join(bg[i].thread, NULL);
        if (bg[i].err[0] && rc == 0) {
            snprintf(err, errlen, "background writer: %s", bg[i].err);
            rc = -1;
        }
    }
    return rc;
}

/* The echo side: one connection, lines back as they come, until the other end closes. */
static void echo_child(int listen_fd)
{
    char err[160], buf[4096];
    set_nonblock(err, sizeof(err), listen_fd, false);
    int fd = tcp_accept(err, sizeof(err), listen_fd, NULL, 0, NULL);
    if (fd < 0)
        _exit(1);
    set_nonblock(err, sizeof(err), fd, false);
    set_nodelay(err, sizeof(err), fd);
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n <= 0)
            _exit(0);
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(fd, buf + off, (size_t)(n - off));
            if (w <= 0)
                _exit(1);
            off += w;
        }
    }
}

static int read_line(int fd, char *buf, size_t buflen)
{
    size_t used = 0;
    while (used < buflen) {
        ssize_t n = read(fd, buf + used, buflen - used);
        if (n <= 0)
            return -1;
        used += (size_t)n;
        if (buf[used - 1] == '\n')
            return 0;
    }
    return -1;
}

/* One client_request-sized JSON line to a separate process and back, per sample. */
static int measure_rtt(int samples, struct latency *lat, char *err, size_t errlen)
{
    int lfd = tcp_listen(err, errlen, "127.0.0.1", 0, 4);
    if (lfd < 0)
        return -1;
    int port = tcp_local_port(err, errlen, lfd);
    if (port < 0) {
        close(lfd);
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        close(lfd);
        return -1;
    }
    if (pid == 0)
        echo_child(lfd);
    close(lfd);
    int rc = -1;
    int fd = tcp_connect_timeout(err, errlen, "127.0.0.1", port, 2000);
    if (fd < 0)
        goto out;
    if (set_nodelay(err, errlen, fd) != 0 || set_io_timeout(err, errlen, fd, 2000) != 0)
        goto out;
    const char *line = "{\"type\":\"client_request\",\"client_id\":\"bench-limits-0\","
                       "\"seq\":12345,\"command\":\"k1 add 1\"}\n";
    size_t len = strlen(line);
    char buf[512];
    uint64_t budget_end = bench_now_us() + LIMIT_BUDGET_US;
    for (int i = 0; i < samples && bench_now_us() < budget_end; i++) {
        uint64_t t0 = bench_now_us();
        if (write(fd, line, len) != (ssize_t)len || read_line(fd, buf, sizeof(buf)) != 0) {
            snprintf(err, errlen, "echo over loopback failed: %s", strerror(errno));
            goto out;
        }
        latency_add(lat, bench_now_us() - t0);
    }
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return rc;
}

/* A small write and fdatasync overwriting a file already written full of zeros (its size
 * does not change, so the sync has no inode to write: the best a preallocated log can
 * do; the storage module preallocates its segments, docs/STORAGE.md), by `peers`
 * writers together until a majority is done; with 1 writer, the plain preallocated sync.
 * Each writer has its own file in a fresh directory on the clusters' file system. */
static int measure_fsync_round(int samples, int peers, struct latency *lat, char *err,
                               size_t errlen)
{
    char dir[64] = "/tmp/raftvillage-limits-XXXXXX";
    if (!mkdtemp(dir)) {
        snprintf(err, errlen, "mkdtemp: %s", strerror(errno));
        return -1;
    }
    int rc =
        fsync_round_measure(dir, peers, peers / 2 + 1, samples, LIMIT_BUDGET_US, lat, err, errlen);
    remove_tree(dir);
    return rc;
}

int limits_floor(int samples, int peers, struct floor_parts *f, char *err, size_t errlen)
{
    struct latency fs, round, rtt;
    latency_init(&fs);
    latency_init(&round);
    latency_init(&rtt);
    int rc = measure_fsync_round(samples, 1, &fs, err, errlen) == 0 &&
                     measure_fsync_round(samples, peers, &round, err, errlen) == 0 &&
                     measure_rtt(samples, &rtt, err, errlen) == 0 && fs.n > 0 && round.n > 0 &&
                     rtt.n > 0
                 ? 0
                 : -1;
    if (rc == 0) {
        f->fsync_us = (double)latency_percentile(&fs, 50);
        f->majority_fsync_us = (double)latency_percentile(&round, 50);
        f->rtt_us = (double)latency_percentile(&rtt, 50);
    }
    latency_free(&fs);
    latency_free(&round);
    latency_free(&rtt);
    return rc;
}

static void row(const char *what, struct latency *l)
{
    char a[32], b[32], c[32], d[32], e[32];
    printf("%-26s %7zu %8s %8s %8s %8s %8s\n", what, l->n,
           report_ms(a, (double)latency_percentile(l, 50)),
           report_ms(b, (double)latency_percentile(l, 99)),
           report_ms(c, (double)latency_percentile(l, 99.9)), report_ms(d, (double)latency_max(l)),
           report_ms(e, latency_mean(l)));
}

/* Time the process spent waiting for a CPU, and the wall time, summed over phases. */
struct runq_phases {
    uint64_t wait_ns, elapsed_us;
    uint64_t wait_at_begin, us_at_begin;
};

static void runq_begin(struct runq_phases *ph)
{
    uint64_t cpu = 0;
    bench_read_schedstat((int)getpid(), &cpu, &ph->wait_at_begin);
    ph->us_at_begin = bench_now_us();
}

static void runq_end(struct runq_phases *ph)
{
    uint64_t cpu = 0, wait = 0;
    bench_read_schedstat((int)getpid(), &cpu, &wait);
    ph->wait_ns += wait - ph->wait_at_begin;
    ph->elapsed_us += bench_now_us() - ph->us_at_begin;
}

int mode_limits(const struct bench_options *o)
{
    char err[512];
    struct latency fs, fs_shared, fs_round, fs_prealloc, rtt;
    latency_init(&fs);
    latency_init(&fs_shared);
    latency_init(&fs_round);
    latency_init(&fs_prealloc);
    latency_init(&rtt);
    /* As many writers as the cluster has peers; a 1-peer cluster shares its disk with no
     * one, so there is nothing more to measure. */
    int writers = o->peers;
    bool shared = writers > 1;
    int status = 2;
    /* The CPU wait is taken over the phases with one thread only: with background writers
     * the measuring thread also waits behind its own helpers, which says nothing of the
     * machine. */
    struct runq_phases quiet = {0};
    runq_begin(&quiet);
    int rc = measure_fsync(o->samples, &fs, NULL, err, sizeof(err));
    runq_end(&quiet);
    if (rc == 0) {
        runq_begin(&quiet);
        rc = measure_fsync_round(o->samples, 1, &fs_prealloc, err, sizeof(err));
        runq_end(&quiet);
    }
    if (rc == 0 && shared)
        rc = measure_fsync_round(o->samples, writers, &fs_round, err, sizeof(err));
    if (rc == 0 && shared)
        rc = measure_fsync_shared(o->samples, writers, &fs_shared, err, sizeof(err));
    if (rc == 0) {
        runq_begin(&quiet);
        rc = measure_rtt(o->samples, &rtt, err, sizeof(err));
        runq_end(&quiet);
    }
    if (rc != 0) {
        fprintf(stderr, "raft_bench: limits: %s\n", err);
        goto out;
    }
    /* On a busy machine a process woken by the disk or the network waits for a CPU, and
     * that wait lands in every sample: say how much of the time went there. */
    double wait_share =
        quiet.elapsed_us > 0 ? (double)quiet.wait_ns / 1e3 / (double)quiet.elapsed_us : 0;
    double floor_us =
        2.0 * (double)latency_percentile(&rtt, 50) + (double)latency_percentile(&fs, 50);
    double shared_us =
        2.0 * (double)latency_percentile(&rtt, 50) + (double)latency_percentile(&fs_shared, 50);
    double majority_us =
        2.0 * (double)latency_percentile(&rtt, 50) + (double)latency_percentile(&fs_round, 50);
    if (!o->json) {
        if (!o->no_header)
            printf("%-26s %7s %8s %8s %8s %8s %8s\n", "limit", "samples", "p50ms", "p99ms",
                   "p99.9ms", "maxms", "meanms");
        char shared_name[48], round_name[48];
        snprintf(shared_name, sizeof(shared_name), "append+fsync, %d at once", writers);
        snprintf(round_name, sizeof(round_name), "prealloc, %d of %d together", writers / 2 + 1,
                 writers);
        row("append+fsync (storage)", &fs);
        row("overwrite+fsync, prealloc", &fs_prealloc);
        if (shared) {
            row(round_name, &fs_round);
            row(shared_name, &fs_shared);
        }
        row("tcp loopback rtt", &rtt);
        char a[32];
        printf("floor of a 1-client 3-peer write, 2 rtt + 1 fsync (p50s): %s ms\n",
               report_ms(a, floor_us));
        if (shared) {
            printf("the same where the %d peers share the disk, 2 rtt + a majority's syncs "
                   "together: %s ms\n",
                   writers, report_ms(a, majority_us));
            printf("the same with the disk shared by %d writers syncing without pause: %s ms\n",
                   writers, report_ms(a, shared_us));
        }
        printf("time spent waiting for a CPU while measuring: %.0f%%\n", wait_share * 100);
    }
    struct json_object *obj = report_new(o);
    if (obj) {
        json_object_object_add(obj, "fsync_us", report_latency(&fs));
        json_object_object_add(obj, "fsync_preallocated_us", report_latency(&fs_prealloc));
        if (shared) {
            json_object_object_add(obj, "fsync_shared_us", report_latency(&fs_shared));
            json_object_object_add(obj, "fsync_shared_writers", json_object_new_int(writers));
            json_object_object_add(obj, "write_shared_disk_us", json_object_new_double(shared_us));
            json_object_object_add(obj, "fsync_majority_us", report_latency(&fs_round));
            json_object_object_add(obj, "write_majority_floor_us",
                                   json_object_new_double(majority_us));
        }
        json_object_object_add(obj, "rtt_us", report_latency(&rtt));
        json_object_object_add(obj, "write_floor_us", json_object_new_double(floor_us));
        json_object_object_add(obj, "runq_wait_share", json_object_new_double(wait_share));
        if (report_emit(o, obj, err, sizeof(err)) != 0)
            fprintf(stderr, "raft_bench: %s\n", err);
    }
    status = 0;
out:
    latency_free(&fs);
    latency_free(&fs_shared);
    latency_free(&fs_round);
    latency_free(&fs_prealloc);
    latency_free(&rtt);
    return status;
}
