/* snapshot_child.c: taking our own snapshots (§7) in a forked child.
 *
 * Encoding the state machine (every variable, sorted) and writing it durably takes
 * hundreds of ms at a few hundred thousand variables: longer than an election timeout,
 * so done in the event loop it deposes a healthy leader. The peer forks instead. The
 * child sees the state machine exactly as it was at the fork (copy-on-write pages), so
 * it encodes with the ordinary sm_snapshot_encode, no locking and no copy up front; the
 * parent goes on serving, and pays only for fork() itself (copying page tables) and for
 * the pages it writes while the child runs (docs/PERFORMANCE.md).
 *
 * Where the child writes, and who renames: the child never touches data/<peer>/snapshot.
 * It saves with snapshot_save into its own directory, data/<peer>/snapshot.fork/ (tmp
 * file, fdatasync, rename, directory fsync: durable there), reports the crc and size on
 * a pipe, and _exits. The parent, on the event loop, checks that the result is still
 * newer than its current snapshot, then renames snapshot.fork/snapshot over snapshot
 * (same file system: atomic) and fsyncs data/<peer>/. That rename is the commit point,
 * exactly as snapshot_save's own, and only the parent performs it, in event-loop order
 * with everything else: a snapshot installed from the leader while a child runs (its
 * own rename of snapshot.partial) can never be overwritten afterwards by the older one
 * the child wrote, because the parent compares indexes first and discards it. Having
 * the child rename itself would race with the install, and killing and reaping the
 * child before every install would block the loop on a child stuck in fdatasync.
 * After a crash, a leftover snapshot.fork/ is an unadopted result: ignored, and
 * removed at the next boot.
 *
 * The child closes its copies of every inherited file descriptor but the pipe first
 * thing: closing a copy affects nothing of the parent's, and it keeps sockets the
 * parent closes meanwhile from staying open (a peer or client would not see the close)
 * and the data directory's flock from outliving the parent. It asks to be killed when
 * the parent dies (PR_SET_PDEATHSIG), and leaves with _exit: no atexit handlers, no
 * stdio buffers flushed twice. Only one child runs at a time; one that fails or is
 * killed is logged and the snapshot is retried after a back-off. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/event_log.h"
#include "raft_peer/net/event_loop.h"
#include "raft_peer/peer.h"
#include "raft_peer/sm/state_machine.h"
#include "raft_peer/snapshot_internal.h"
#include "raft_peer/snapshot_service.h"
#include "raft_peer/storage/boot_config.h"
#include "raft_peer/storage/crc32c.h"
#include "raft_peer/storage/snapshot_store.h"
#include "raft_peer/storage/storage.h"

/* The entries applied since the last snapshot must add up to at least 1/SNAPSHOT_LOG_SHARE
 * of its size before the next one is taken (snapshot_maybe_take). */
#define SNAPSHOT_LOG_SHARE 2
#define TRAILING_ENTRIES   1000 /* kept after a snapshot so slightly slow followers need none */

#define FORK_DIR     "snapshot.fork"
#define RETRY_MIN_MS 1000
#define RETRY_MAX_MS 60000
#define CHILD_PDEATH 3 /* exit status: the parent died before the child could ask to follow */
#define CHILD_FAILED 1
#define CHILD_NICE   5 /* the child yields the CPU to the peer it serves */

static void fork_path(const struct peer *p, const char *name, char *out, size_t outlen)
{
    if (name)
        snprintf(out, outlen, "%s/%s/%s", p->data_dir, FORK_DIR, name);
    else
        snprintf(out, outlen, "%s/%s", p->data_dir, FORK_DIR);
}

/* Best effort: what a child that the previous run lost left behind. */
void snapshot_child_remove_leftovers(const struct peer *p)
{
    char path[sizeof(p->data_dir) + 64];
    fork_path(p, "snapshot", path, sizeof(path));
    (void)unlink(path);
    fork_path(p, "snapshot.tmp", path, sizeof(path));
    (void)unlink(path);
}

static void close_inherited_fds(int keep)
{
    unsigned k = (unsigned)keep;
    if (k > 3 && close_range(3, k - 1, 0) != 0) {
        for (unsigned fd = 3; fd < k; fd++)
            (void)close((int)fd);
    }
    if (close_range(k + 1, ~0u, 0) != 0) {
        long max = sysconf(_SC_OPEN_MAX);
        if (max < 0 || max > EL_MAX_FDS)
            max = EL_MAX_FDS;
        for (long fd = (long)k + 1; fd < max; fd++)
            (void)close((int)fd);
    }
}

/* Private_Dirty of /proc/self/smaps_rollup in kB, 0 if unknown: what this process does
 * not share with the parent any more. */
static uint64_t private_dirty_kb(void)
{
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    if (!f)
        return 0;
    char line[256];
    unsigned long long kb = 0;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "Private_Dirty: %llu kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

/* The snapshot's bytes: the configuration at its index, then the state machine
 * (boot_config.h). 0, or -1 when out of memory. */
static int encode_with_configuration(const struct peer *p, const struct raft_configuration *conf,
                                     uint8_t **out, size_t *outlen)
{
    uint8_t *sm_bytes, prefix[SNAPSHOT_CONFIG_MAX];
    size_t sm_len, plen = snapshot_config_prefix(conf, prefix);
    if (sm_snapshot_encode(p->sm, &sm_bytes, &sm_len) != 0)
        return -1;
    uint8_t *all = malloc(plen + sm_len);
    if (all) {
        memcpy(all, prefix, plen);
        memcpy(all + plen, sm_bytes, sm_len);
    }
    free(sm_bytes);
    if (!all)
        return -1;
    *out = all;
    *outlen = plen + sm_len;
    return 0;
}

/* The child: encode, save in its own directory, report, _exit. Never returns. */
static void child_main(struct peer *p, int wfd, pid_t parent, raft_index index, raft_term term,
                       const struct raft_configuration *conf)
{
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
        _exit(CHILD_PDEATH);
    close_inherited_fds(wfd);
    /* On a busy machine the peer's loop matters more than how soon the snapshot is done. */
    int niced = nice(CHILD_NICE); /* best effort: unchanged priority is fine too */
    (void)niced;
    struct snapshot_report r;
    memset(&r, 0, sizeof(r));
    uint8_t *data = NULL;
    size_t len = 0;
    uint64_t t0 = el_now_ms();
    if (sm_last_applied(p->sm) != index) {
        snprintf(r.err, sizeof(r.err), "the state machine is at %llu, not %llu",
                 (unsigned long long)sm_last_applied(p->sm), (unsigned long long)index);
    } else if (encode_with_configuration(p, conf, &data, &len) != 0) {
        snprintf(r.err, sizeof(r.err), "cannot encode the state machine (out of memory)");
    } else {
        uint64_t t1 = el_now_ms();
        r.encode_ms = t1 - t0;
        r.size = len;
        r.crc = crc32c(0, data, len); /* what snapshot_save puts in the header */
        /* Test hook (tests/integration/test_snapshot_fork.c): a child slow enough that
         * a snapshot from the leader arrives while it runs. Never set in production. */
        const char *delay = getenv("RAFT_TEST_SNAPSHOT_CHILD_DELAY_MS");
        long ms = delay ? atol(delay) : 0;
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
        while (ms > 0 && nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        }
        char dir[sizeof(p->data_dir) + 64];
        fork_path(p, NULL, dir, sizeof(dir));
        if (snapshot_save(dir, index, term, data, len, r.err, sizeof(r.err)) == 0)
            r.ok = 1;
        r.write_ms = el_now_ms() - t1;
        r.private_kb = private_dirty_kb();
        free(data); /* nothing needs it, but a leak checker following the fork would */
    }
    /* Smaller than PIPE_BUF into an empty pipe: one write, whole or not at all. */
    ssize_t n;
    do
        n = write(wfd, &r, sizeof(r));
    while (n < 0 && errno == EINTR);
    _exit(r.ok && n == (ssize_t)sizeof(r) ? 0 : CHILD_FAILED);
}

static void child_failed_later(struct peer *p)
{
    struct snapshots *s = p->snapshots;
    uint64_t delay = RETRY_MIN_MS;
    for (unsigned i = 0; i < s->failures && delay < RETRY_MAX_MS; i++)
        delay *= 2;
    if (delay > RETRY_MAX_MS)
        delay = RETRY_MAX_MS;
    s->failures++;
    s->retry_ms = el_now_ms() + delay;
}

/* Reads what the child wrote so far (the pipe is non-blocking); true at end of file. */
static bool read_report(struct peer *p)
{
    struct snapshots *s = p->snapshots;
    struct snapshot_child *c = &s->child;
    while (c->fd >= 0) {
        uint8_t scratch[64];
        uint8_t *to = c->got < sizeof(c->report) ? (uint8_t *)&c->report + c->got : scratch;
        size_t room = c->got < sizeof(c->report) ? sizeof(c->report) - c->got : sizeof(scratch);
        ssize_t n = read(c->fd, to, room);
        if (n > 0) {
            if (c->got < sizeof(c->report))
                c->got += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return false;
        el_del_file(p->el, c->fd, EL_READABLE);
        close(c->fd);
        c->fd = -1;
    }
    return true;
}

/* The child's snapshot is durable in snapshot.fork/: make it ours, then compact as a
 * snapshot taken in the loop used to. */
static void adopt(struct peer *p)
{
    struct snapshots *s = p->snapshots;
    struct snapshot_child *c = &s->child;
    char from[sizeof(p->data_dir) + 64], to[sizeof(p->data_dir) + 16];
    fork_path(p, "snapshot", from, sizeof(from));
    if (p->stopped) { /* the disk failed meanwhile: leave what is on it alone */
        (void)unlink(from);
        return;
    }
    if (c->superseded || c->index <= s->index) {
        event_log_write(p->log, EVENT_LOG_INFO,
                        "discarded the snapshot at index %llu written by child %d: ours is "
                        "already at %llu",
                        (unsigned long long)c->index, (int)c->pid, (unsigned long long)s->index);
        (void)unlink(from);
        return;
    }
    snprintf(to, sizeof(to), "%s/snapshot", p->data_dir);
    if (rename(from, to) != 0) {
        event_log_write(p->log, EVENT_LOG_ERROR, "cannot rename %s to %s: %s", from, to,
                        strerror(errno));
        child_failed_later(p);
        return;
    }
    /* From here "snapshot" is the new one (a crash may still bring the old one back
     * until the directory is synced, which the log compaction waits for). */
    s->index = c->index;
    s->term = c->term;
    s->size = c->report.size;
    s->crc = c->report.crc;
    s->bytes_mark = c->bytes_mark;
    s->failures = 0;
    int dir_fd = open(p->data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0 || fsync(dir_fd) != 0) {
        event_log_write(p->log, EVENT_LOG_ERROR,
                        "cannot fsync %s after renaming the snapshot: %s; the log is kept whole",
                        p->data_dir, strerror(errno));
        if (dir_fd >= 0)
            close(dir_fd);
        return; /* nothing is lost: the log still holds everything the snapshot covers */
    }
    close(dir_fd);
    raft_index applied = c->index;
    uint64_t trailing = p->cfg.snapshot_threshold / 2;
    if (trailing > TRAILING_ENTRIES)
        trailing = TRAILING_ENTRIES;
    raft_index upto = applied > trailing ? applied - trailing : 0;
    if (upto > raft_snapshot_index(p->raft)) {
        raft_term upto_term = raft_term_at(p->raft, upto);
        if (upto_term != 0 && raft_compact(p->raft, upto) == RAFT_OK &&
            storage_compact(p->storage, upto, upto_term, s->err, sizeof(s->err)) != 0) {
            event_log_write(p->log, EVENT_LOG_ERROR, "cannot compact the log: %s", s->err);
        }
    }
    event_log_write(
        p->log, EVENT_LOG_INFO,
        "snapshot at index %llu (term %llu, %llu bytes); log kept from index %llu; "
        "child %d: fork %llu ms, encode %llu ms, write %llu ms, %llu kB private",
        (unsigned long long)applied, (unsigned long long)c->term,
        (unsigned long long)c->report.size, (unsigned long long)raft_first_index(p->raft),
        (int)c->pid, (unsigned long long)c->fork_ms, (unsigned long long)c->report.encode_ms,
        (unsigned long long)c->report.write_ms, (unsigned long long)c->report.private_kb);
}

void snapshot_child_poll(struct peer *p)
{
    struct snapshots *s = p->snapshots;
    struct snapshot_child *c = &s->child;
    if (c->pid == 0)
        return;
    int status;
    pid_t r;
    do
        r = waitpid(c->pid, &status, WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r == 0)
        return; /* still running: the pipe's end of file or the housekeeping timer ask again */
    (void)read_report(p); /* whatever it wrote is in the pipe even when it died since */
    if (c->fd >= 0) {
        el_del_file(p->el, c->fd, EL_READABLE);
        close(c->fd);
        c->fd = -1;
    }
    bool reported = c->got == sizeof(c->report);
    if (r < 0) {
        event_log_write(p->log, EVENT_LOG_ERROR, "cannot wait for snapshot child %d: %s",
                        (int)c->pid, strerror(errno));
        child_failed_later(p);
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && reported && c->report.ok) {
        adopt(p);
    } else if (c->superseded) {
        event_log_write(p->log, EVENT_LOG_INFO,
                        "snapshot child %d stopped: a snapshot from the leader replaced its work",
                        (int)c->pid);
    } else {
        char how[64];
        if (WIFSIGNALED(status))
            snprintf(how, sizeof(how), "killed by %s", strsignal(WTERMSIG(status)));
        else
            snprintf(how, sizeof(how), "exit status %d", WEXITSTATUS(status));
        c->report.err[sizeof(c->report.err) - 1] = '\0';
        event_log_write(p->log, EVENT_LOG_ERROR,
                        "snapshot child %d at index %llu failed (%s): %s; retrying later",
                        (int)c->pid, (unsigned long long)c->index, how,
                        reported && c->report.err[0] ? c->report.err : "no report");
        child_failed_later(p);
    }
    c->pid = 0;
    c->got = 0;
    c->superseded = false;
}

static void on_child_report(struct event_loop *el, int fd, void *data, int mask)
{
    (void)el;
    (void)fd;
    (void)mask;
    struct peer *p = data;
    if (read_report(p))
        snapshot_child_poll(p); /* end of file: it has exited, or is about to */
}

/* Forks the child that writes the snapshot at index. The parent only records it. */
static void start_child(struct peer *p, raft_index index, raft_term term)
{
    struct snapshots *s = p->snapshots;
    struct snapshot_child *c = &s->child;
    char dir[sizeof(p->data_dir) + 64];
    fork_path(p, NULL, dir, sizeof(dir));
    int fds[2];
    if ((mkdir(dir, 0755) != 0 && errno != EEXIST) || pipe2(fds, O_CLOEXEC) != 0) {
        event_log_write(p->log, EVENT_LOG_ERROR, "cannot start a snapshot at index %llu: %s: %s",
                        (unsigned long long)index, dir, strerror(errno));
        child_failed_later(p);
        return;
    }
    if (fcntl(fds[0], F_SETFL, O_NONBLOCK) != 0 ||
        el_add_file(p->el, fds[0], EL_READABLE, on_child_report, p) != 0) {
        event_log_write(p->log, EVENT_LOG_ERROR, "cannot watch a snapshot child's pipe: %s",
                        strerror(errno));
        close(fds[0]);
        close(fds[1]);
        child_failed_later(p);
        return;
    }
    struct raft_configuration conf;
    if (raft_configuration_at(p->raft, index, &conf) != RAFT_OK)
        conf = *raft_configuration(p->raft); /* cannot happen: index is in the log */
    pid_t parent = getpid();
    uint64_t t0 = el_now_ms();
    pid_t pid = fork();
    if (pid == 0)
        child_main(p, fds[1], parent, index, term, &conf);
    close(fds[1]);
    if (pid < 0) {
        event_log_write(p->log, EVENT_LOG_ERROR, "cannot fork to take a snapshot: %s",
                        strerror(errno));
        el_del_file(p->el, fds[0], EL_READABLE);
        close(fds[0]);
        child_failed_later(p);
        return;
    }
    *c = (struct snapshot_child){.pid = pid,
                                 .fd = fds[0],
                                 .index = index,
                                 .term = term,
                                 .bytes_mark = s->applied_bytes,
                                 .started_ms = t0,
                                 .fork_ms = el_now_ms() - t0};
    event_log_write(p->log, EVENT_LOG_INFO,
                    "child %d takes the snapshot of index %llu (fork took %llu ms)", (int)pid,
                    (unsigned long long)index, (unsigned long long)c->fork_ms);
}

/* A snapshot from the leader replaced our state machine: whatever a running child
 * writes is older, so stop it (reaped and ignored by snapshot_child_poll). */
void snapshot_child_supersede(struct peer *p)
{
    struct snapshots *s = p->snapshots;
    if (s->child.pid == 0)
        return;
    s->child.superseded = true;
    (void)kill(s->child.pid, SIGKILL);
}

/* §7: "Servers take snapshots when the log reaches a fixed size in bytes"; here, when
 * snapshot_threshold entries or snapshot_threshold_bytes of entry payload have been
 * applied since the last snapshot, whichever comes first, and not before that payload
 * adds up to a SNAPSHOT_LOG_SHARE of the last snapshot's size. The dissertation's
 * expansion factor (§5.1.3): writing a snapshot costs about its size, so a state that
 * grew ten times larger is snapshotted ten times less often, and snapshots take the
 * same share of the work at a thousand variables as at a million (at 300,000 variables
 * and 10,000 entries a snapshot, they halved the cluster's throughput). The log kept
 * in memory meanwhile is bounded by the same share of the state's own size. */
void snapshot_maybe_take(struct peer *p)
{
    struct snapshots *s = p->snapshots;
    uint64_t applied = sm_last_applied(p->sm);
    if (p->stopped || p->exiting || s->child.pid != 0 || s->installing || applied <= s->index ||
        applied > raft_persisted_index(p->raft) || el_now_ms() < s->retry_ms)
        return;
    bool by_entries = applied - s->index >= p->cfg.snapshot_threshold;
    bool by_bytes = p->cfg.snapshot_threshold_bytes > 0 &&
                    s->applied_bytes - s->bytes_mark >= p->cfg.snapshot_threshold_bytes;
    if (!by_entries && !by_bytes)
        return;
    if (s->applied_bytes - s->bytes_mark < s->size / SNAPSHOT_LOG_SHARE)
        return;
    raft_term term = raft_term_at(p->raft, applied);
    if (term == 0) {
        event_log_write(p->log, EVENT_LOG_ERROR, "no term for index %llu: no snapshot there",
                        (unsigned long long)applied);
        child_failed_later(p);
        return;
    }
    start_child(p, applied, term);
}

void snapshot_child_stop(struct peer *p)
{
    struct snapshots *s = p->snapshots;
    if (s->child.pid > 0) {
        /* Shutting down: what it writes would be adopted by nobody. Its leftover
         * files are removed at the next boot. */
        (void)kill(s->child.pid, SIGKILL);
        while (waitpid(s->child.pid, NULL, 0) < 0 && errno == EINTR) {
        }
        s->child.pid = 0;
    }
    if (s->child.fd >= 0 && p->el) {
        el_del_file(p->el, s->child.fd, EL_READABLE);
        close(s->child.fd);
        s->child.fd = -1;
    }
}
