/* fsync_round.c: see fsync_round.h. Each writer is a thread with a file of its own,
 * written full of zeros and synced first (so every sample overwrites, as a preallocated
 * log segment does). A round releases all writers at once (one broadcast); each
 * records when it started and when its pwrite + fdatasync returned. The sample is the
 * time from the first start to the quorum-th return: the moment a majority's copies
 * were durable, which is all a commit waits for. */
#include "bench/fsync_round.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/setup.h"
#include "common/config.h"

/* Room each writer overwrites, cycling: as big as a small log segment's start. */
#define ROUND_FILE_BYTES (4u << 20)
/* A lone command's record on the log, about. */
#define ROUND_RECORD_BYTES 58

struct round_writer {
    pthread_t thread;
    struct fsync_round *round;
    int fd;
    uint64_t started_us, done_us;
    int error; /* errno of a failed write or sync, 0 if none */
};

struct fsync_round {
    pthread_mutex_t lock;
    pthread_cond_t go, done;
    unsigned round; /* bumped to release the writers into the next round */
    int finished;   /* writers done with the current round */
    int writers;    /* threads running */
    bool stop;
    struct round_writer w[CONFIG_MAX_PEERS];
};

static void *writer_main(void *arg)
{
    struct round_writer *w = arg;
    struct fsync_round *r = w->round;
    char record[ROUND_RECORD_BYTES];
    memset(record, 'r', sizeof(record));
    off_t at = 0;
    unsigned seen = 0;
    for (;;) {
        pthread_mutex_lock(&r->lock);
        while (r->round == seen && !r->stop)
            pthread_cond_wait(&r->go, &r->lock);
        seen = r->round;
        bool stop = r->stop;
        pthread_mutex_unlock(&r->lock);
        if (stop)
            return NULL;
        if (at + (off_t)sizeof(record) > (off_t)ROUND_FILE_BYTES)
            at = 0;
        w->started_us = bench_now_us();
        if (w->error == 0) {
            ssize_t n = pwrite(w->fd, record, sizeof(record), at);
            if (n != (ssize_t)sizeof(record))
                w->error = n < 0 ? errno : EIO; /* a short write sets no errno */
            else if (fdatasync(w->fd) != 0)
                w->error = errno;
        }
        w->done_us = bench_now_us();
        at += (off_t)sizeof(record);
        pthread_mutex_lock(&r->lock);
        if (++r->finished == r->writers)
            pthread_cond_signal(&r->done);
        pthread_mutex_unlock(&r->lock);
    }
}

/* Releases every writer into one round and waits until all of them are back. */
static void run_round(struct fsync_round *r)
{
    pthread_mutex_lock(&r->lock);
    r->finished = 0;
    r->round++;
    pthread_cond_broadcast(&r->go);
    while (r->finished < r->writers)
        pthread_cond_wait(&r->done, &r->lock);
    pthread_mutex_unlock(&r->lock);
}

static int open_zeroed(const char *dir, int i, char *err, size_t errlen)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/writer%d", dir, i);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    static const char zeros[65536];
    for (unsigned off = 0; off < ROUND_FILE_BYTES; off += sizeof(zeros)) {
        ssize_t n = write(fd, zeros, sizeof(zeros));
        if (n != (ssize_t)sizeof(zeros)) {
            snprintf(err, errlen, "cannot fill %s: %s", path,
                     n < 0 ? strerror(errno) : "short write (disk full?)");
            close(fd);
            return -1;
        }
    }
    if (fsync(fd) != 0) {
        snprintf(err, errlen, "cannot sync %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int fsync_round_measure(const char *dir, int writers, int quorum, int samples, uint64_t budget_us,
                        struct latency *lat, char *err, size_t errlen)
{
    if (writers < 1 || writers > CONFIG_MAX_PEERS || quorum < 1 || quorum > writers) {
        snprintf(err, errlen, "fsync round: %d of %d writers makes no sense", quorum, writers);
        return -1;
    }
    struct fsync_round *r = calloc(1, sizeof(*r));
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int opened = 0, rc = -1;
    for (; opened < writers; opened++)
        if ((r->w[opened].fd = open_zeroed(dir, opened, err, errlen)) < 0)
            goto close_files;
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->go, NULL);
    pthread_cond_init(&r->done, NULL);
    for (; r->writers < writers; r->writers++) {
        r->w[r->writers].round = r;
        if (pthread_create(&r->w[r->writers].thread, NULL, writer_main, &r->w[r->writers]) != 0) {
            snprintf(err, errlen, "cannot start fsync round writers");
            goto stop;
        }
    }
    uint64_t ends[CONFIG_MAX_PEERS];
    uint64_t budget_end = bench_now_us() + budget_us;
    for (int i = 0; i < samples && bench_now_us() < budget_end; i++) {
        run_round(r);
        uint64_t first = r->w[0].started_us;
        for (int k = 0; k < writers; k++) {
            if (r->w[k].error) {
                snprintf(err, errlen, "fsync round writer %d: %s", k, strerror(r->w[k].error));
                goto stop;
            }
            ends[k] = r->w[k].done_us;
            if (r->w[k].started_us < first)
                first = r->w[k].started_us;
        }
        qsort(ends, (size_t)writers, sizeof(ends[0]), cmp_u64);
        latency_add(lat, ends[quorum - 1] - first);
    }
    rc = 0;
stop:
    pthread_mutex_lock(&r->lock);
    r->stop = true;
    pthread_cond_broadcast(&r->go);
    pthread_mutex_unlock(&r->lock);
    for (int k = 0; k < r->writers; k++)
        pthread_join(r->w[k].thread, NULL);
    pthread_cond_destroy(&r->go);
    pthread_cond_destroy(&r->done);
    pthread_mutex_destroy(&r->lock);
close_files:
    for (int k = 0; k < opened; k++)
        close(r->w[k].fd);
    free(r);
    return rc;
}
