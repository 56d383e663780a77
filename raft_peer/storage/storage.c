/* storage.c: opening the data directory (create, lock, load) and the public calls. */
#include "raft_peer/storage/storage_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOCK_NAME "LOCK"

/* A directory we just created exists after a power cut only once its parent is synced. */
static int fsync_parent(const char *path)
{
    char parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%s", path);
    char *slash = strrchr(parent, '/');
    if (slash == NULL)
        strcpy(parent, ".");
    else if (slash == parent)
        parent[1] = '\0';
    else
        *slash = '\0';
    int fd = sio_open_dir(parent);
    if (fd < 0)
        return -1;
    int rc = sio_fsync(NULL, fd);
    int e = errno;
    sio_close(fd);
    errno = e;
    return rc;
}

/* mkdir -p, syncing each new directory into its parent. */
static int make_dirs(const char *dir, char *err, size_t errlen)
{
    char path[PATH_MAX];
    size_t len = strlen(dir);

    if (len == 0 || len >= sizeof path) {
        set_err(err, errlen, "data directory path is empty or too long");
        return STORAGE_EINVAL;
    }
    memcpy(path, dir, len + 1);
    while (len > 1 && path[len - 1] == '/')
        path[--len] = '\0';
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (sio_mkdir(path) == 0) {
            if (fsync_parent(path) < 0) {
                set_err(err, errlen, "%s: cannot sync its parent: %s", path, strerror(errno));
                return STORAGE_EIO;
            }
        } else if (errno != EEXIST) {
            set_err(err, errlen, "cannot create %s: %s", path, strerror(errno));
            return STORAGE_EIO;
        }
        *p = c;
        if (c == '\0')
            break;
    }
    int fd = sio_open_dir(path);
    if (fd < 0) {
        set_err(err, errlen, "%s is not a directory: %s", dir, strerror(errno));
        return STORAGE_EIO;
    }
    sio_close(fd);
    /* Someone else (a launcher's mkdir -p) may have created it without a sync; one
     * fsync at start makes sure the directory itself survives a power cut. */
    if (fsync_parent(path) < 0) {
        set_err(err, errlen, "%s: cannot sync its parent: %s", path, strerror(errno));
        return STORAGE_EIO;
    }
    return STORAGE_OK;
}

/* The lock file holds the owner's pid, only for the message of a refused second open. */
static void read_lock_holder(struct storage *s, char *pid, size_t pidlen)
{
    uint64_t size = 0;
    pid[0] = '\0';
    int fd = sio_open(s->dir_fd, LOCK_NAME, O_RDONLY);
    if (fd < 0)
        return;
    if (sio_file_size(fd, &size) == 0 && size > 0) {
        size_t n = size < pidlen - 1 ? (size_t)size : pidlen - 1;
        if (sio_pread_all(fd, pid, n, 0) == 0)
            pid[n] = '\0';
    }
    sio_close(fd);
    pid[strcspn(pid, "\n")] = '\0';
}

static int take_lock(struct storage *s, char *err, size_t errlen)
{
    char pid[32] = "";

    s->lock_fd = sio_lock(s->dir_fd, LOCK_NAME);
    if (s->lock_fd < 0) {
        if (errno != EWOULDBLOCK) {
            set_err(err, errlen, "%s/%s: cannot lock: %s", s->dir, LOCK_NAME, strerror(errno));
            return STORAGE_EIO;
        }
        read_lock_holder(s, pid, sizeof pid);
        set_err(err, errlen,
                "%s is in use by another process%s%s (%s/%s is locked); two peers must "
                "never share a data directory",
                s->dir, pid[0] ? " with pid " : "", pid, s->dir, LOCK_NAME);
        return STORAGE_ELOCKED;
    }
    /* The pid is only for the message above; it need not be durable. */
    int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (sio_ftruncate(NULL, s->lock_fd, 0) < 0 ||
        sio_pwrite_all(NULL, s->lock_fd, pid, (size_t)len, 0) < 0) {
        /* harmless: only the message of a refused second open loses the pid */
    }
    return STORAGE_OK;
}

static void release(struct storage *s)
{
    if (s->tail_fd >= 0)
        sio_close(s->tail_fd);
    if (s->spare_fd >= 0)
        sio_close(s->spare_fd);
    if (s->lock_fd >= 0)
        sio_close(s->lock_fd); /* drops the lock */
    if (s->dir_fd >= 0)
        sio_close(s->dir_fd);
    free(s->slots);
    free(s->seg_first);
    free(s->buf);
    free(s->dir);
    free(s);
}

/* Figure 13: a log entry at the snapshot's index with another term, or an entry after
 * it with a lower term, does not follow the snapshot, and neither does anything after
 * it. Such a suffix is what a crash left of an install that was replacing the log. */
static int drop_stale_suffix(struct storage *s, raft_index snapshot_index, raft_term snapshot_term,
                             struct storage_boot *boot, char *err, size_t errlen)
{
    bool stale = (s->prefix_term != 0 && s->prefix_term != snapshot_term) ||
                 (s->n_entries > 0 && s->slots[0].term < snapshot_term);
    s->prefix_term = snapshot_term;
    if (!stale || s->n_entries == 0)
        return STORAGE_OK;
    raft_index last = storage_last_index(s);
    int rc = storage_log_append(s, s->first_index, NULL, 0, err, errlen);
    if (rc != STORAGE_OK)
        return rc;
    boot->n_entries = 0;
    storage_notice(boot,
                   "dropped entries %" PRIu64 "..%" PRIu64
                   ": they do not follow the snapshot at index %" PRIu64 " of term %" PRIu64
                   " (left by an interrupted snapshot install)",
                   snapshot_index + 1, last, snapshot_index, snapshot_term);
    return STORAGE_OK;
}

int storage_open_after_snapshot(const char *dir, raft_index snapshot_index, raft_term snapshot_term,
                                struct storage **out, struct storage_boot *boot, char *err,
                                size_t errlen)
{
    int rc;
    struct storage *s = NULL;

    if (out != NULL)
        *out = NULL;
    if (boot != NULL)
        memset(boot, 0, sizeof *boot);
    if (dir == NULL || out == NULL || boot == NULL) {
        set_err(err, errlen, "storage_open: NULL argument");
        return STORAGE_EINVAL;
    }
    if (snapshot_index > UINT64_MAX / 2 || (snapshot_index == 0 && snapshot_term != 0)) {
        set_err(err, errlen, "storage_open: snapshot index %" PRIu64 " / term %" PRIu64,
                snapshot_index, snapshot_term);
        return STORAGE_EINVAL;
    }
    s = calloc(1, sizeof *s);
    if (s == NULL || (s->dir = strdup(dir)) == NULL) {
        free(s);
        set_err(err, errlen, "storage_open: out of memory");
        return STORAGE_EIO;
    }
    s->dir_fd = s->lock_fd = s->tail_fd = s->spare_fd = -1;
    s->prealloc = true;
    s->io.fail_after = -1;
    s->meta_newest = -1;
    s->segment_bytes = STORAGE_SEGMENT_BYTES;
    s->flush_bytes = STORAGE_FLUSH_BYTES;
    s->first_index = 1;

    rc = make_dirs(dir, err, errlen);
    if (rc != STORAGE_OK)
        goto fail;
    s->dir_fd = sio_open_dir(dir);
    if (s->dir_fd < 0) {
        set_err(err, errlen, "cannot open %s: %s", dir, strerror(errno));
        rc = STORAGE_EIO;
        goto fail;
    }
    rc = take_lock(s, err, errlen);
    if (rc != STORAGE_OK)
        goto fail;
    rc = storage_meta_load(s, err, errlen);
    if (rc != STORAGE_OK)
        goto fail;
    rc = storage_log_load(s, snapshot_index, boot, err, errlen);
    if (rc != STORAGE_OK)
        goto fail;
    if (snapshot_term != 0) {
        rc = drop_stale_suffix(s, snapshot_index, snapshot_term, boot, err, errlen);
        if (rc != STORAGE_OK)
            goto fail;
    }
    /* What a crashed process left may still sit in the page cache, never synced: the
     * loads above fdatasync every file they read, and this makes their directory
     * entries durable, so everything handed to the core is durable, as raft_new()
     * assumes (it counts the loaded log as persisted). */
    if (!STORAGE_MUTATED(STORAGE_MUT_NO_OPEN_SYNC) && sio_fsync(&s->io, s->dir_fd) < 0) {
        set_err(err, errlen, "%s: cannot fsync the directory: %s", dir, strerror(errno));
        rc = STORAGE_EIO;
        goto fail;
    }
    s->tail_synced = s->tail_written;
    boot->term = s->term;
    boot->voted_for = s->voted_for;
    boot->first_index = s->first_index;
    *out = s;
    return STORAGE_OK;
fail:
    release(s);
    storage_boot_free(boot);
    return rc;
}

int storage_open(const char *dir, raft_index snapshot_index, struct storage **out,
                 struct storage_boot *boot, char *err, size_t errlen)
{
    return storage_open_after_snapshot(dir, snapshot_index, 0, out, boot, err, errlen);
}

void storage_boot_free(struct storage_boot *boot)
{
    if (boot == NULL)
        return;
    for (size_t i = 0; i < boot->n_chunks; i++)
        free(boot->chunks[i]);
    free(boot->chunks);
    free(boot->entries);
    memset(boot, 0, sizeof *boot);
}

/* Refuses calls on a failed storage: after a failed write or fsync we no longer know
 * what the kernel will put on disk, so nothing more may be acknowledged. */
static int usable(const struct storage *s, char *err, size_t errlen)
{
    if (s == NULL) {
        set_err(err, errlen, "storage: NULL handle");
        return STORAGE_EINVAL;
    }
    if (s->failed) {
        set_err(err, errlen, "storage failed earlier: %s", s->failed_msg);
        return STORAGE_EIO;
    }
    return STORAGE_OK;
}

int storage_save_hard_state(struct storage *s, raft_term term, raft_id voted_for, char *err,
                            size_t errlen)
{
    int rc = usable(s, err, errlen);
    if (rc != STORAGE_OK)
        return rc;
    if (voted_for < 0 || voted_for > RAFT_MAX_PEERS) {
        set_err(err, errlen, "storage_save_hard_state: voted_for %d out of range", voted_for);
        return STORAGE_EINVAL;
    }
    if (term < s->term) {
        set_err(err, errlen,
                "storage_save_hard_state: term %" PRIu64 " below the saved term %" PRIu64, term,
                s->term);
        return STORAGE_EINVAL;
    }
    if (term == s->term && s->voted_for != RAFT_NOBODY && voted_for != s->voted_for) {
        set_err(err, errlen,
                "storage_save_hard_state: term %" PRIu64 " already has a vote for %d, not %d", term,
                s->voted_for, voted_for);
        return STORAGE_EINVAL;
    }
    if (term == s->term && voted_for == s->voted_for)
        return STORAGE_OK; /* already durable */
    return storage_meta_save(s, term, voted_for, err, errlen);
}

int storage_append(struct storage *s, raft_index first, const struct raft_entry *entries, size_t n,
                   char *err, size_t errlen)
{
    int rc = usable(s, err, errlen);
    if (rc != STORAGE_OK)
        return rc;
    return storage_log_append(s, first, entries, n, err, errlen);
}

int storage_compact(struct storage *s, raft_index index, raft_term term, char *err, size_t errlen)
{
    int rc = usable(s, err, errlen);
    if (rc != STORAGE_OK)
        return rc;
    if (index == 0 || term == 0 || index > UINT64_MAX / 2) {
        set_err(err, errlen, "storage_compact: index %" PRIu64 " / term %" PRIu64, index, term);
        return STORAGE_EINVAL;
    }
    return storage_log_compact(s, index, term, err, errlen);
}

int storage_sync(struct storage *s, char *err, size_t errlen)
{
    int rc = usable(s, err, errlen);
    if (rc != STORAGE_OK)
        return rc;
    return storage_log_sync(s, err, errlen);
}

void storage_prepare(struct storage *s)
{
    if (s != NULL && !s->failed)
        storage_log_prepare(s);
}

raft_index storage_first_index(const struct storage *s)
{
    return s->first_index;
}

raft_index storage_last_index(const struct storage *s)
{
    return s->first_index + s->n_entries - 1;
}

bool storage_failed(const struct storage *s)
{
    return s->failed;
}

void storage_close(struct storage *s)
{
    if (s == NULL)
        return;
    if (!s->failed && s->tail_fd >= 0)
        (void)storage_log_flush(s, NULL, 0);
    release(s);
}

void storage_test_set_flush_bytes(struct storage *s, size_t bytes)
{
    s->flush_bytes = bytes;
}

void storage_test_crash(struct storage *s)
{
    if (s != NULL)
        release(s); /* what is queued in memory dies with the process */
}

void storage_test_set_segment_bytes(struct storage *s, uint64_t bytes)
{
    s->segment_bytes = bytes < 64 ? 64 : bytes;
}

void storage_test_set_prealloc(struct storage *s, bool on)
{
    s->prealloc = on;
}

void storage_test_fail_io(struct storage *s, long after, int err)
{
    s->io.fail_after = after;
    s->io.fail_errno = err;
}

int storage_test_log_fd(const struct storage *s)
{
    return s->tail_fd;
}
