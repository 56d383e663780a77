/* snapshot_service.c: log compaction for the daemon (§7 and Figure 13). Every peer
 * snapshots its state machine once snapshot_threshold entries (or snapshot_threshold_bytes
 * of entry payload) were applied since the last one, in a forked child so that the event
 * loop never waits for it, and drops the covered log; a leader whose follower needs compacted
 * entries streams the snapshot to it in chunks (install_snapshot / install_snapshot_result,
 * docs/PROTOCOL.md), one chunk in flight, and the follower writes them to a partial file that
 * survives a crash, so a transfer resumes where it stopped. */
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

#include "common/client_protocol.h"
#include "common/error_message.h"
#include "common/event_log.h"
#include "raft_peer/net/event_loop.h"
#include "raft_peer/net/rpc_codec.h"
#include "raft_peer/peer.h"
#include "raft_peer/sm/state_machine.h"
#include "raft_peer/snapshot_install.h"
#include "raft_peer/snapshot_service.h"
#include "raft_peer/storage/boot_config.h"
#include "raft_peer/storage/crc32c.h"
#include "raft_peer/storage/snapshot_store.h"
#include "raft_peer/storage/storage.h"

#define CHUNK_RESEND_MS  2000 /* an unanswered chunk is sent again */
#define TRAILING_ENTRIES 1000 /* kept after a snapshot so slightly slow followers need none */

/* Leader: one snapshot transfer in progress to a follower (chunked, one chunk in flight). */
struct snapshot_send {
    bool active;
    raft_index index;
    raft_term term;
    uint64_t size;
    uint32_t crc;
    uint8_t *data;    /* the snapshot as it was when the transfer began: a newer one may
                         replace the file meanwhile without restarting the transfer */
    uint64_t offset;  /* the next byte the follower needs */
    uint64_t sent_ms; /* when the chunk now in flight left */
};

/* What a snapshot child writes on its pipe before it exits. */
struct snapshot_report {
    int32_t ok;          /* 1: the snapshot is durable in data/<peer>/snapshot.fork/snapshot */
    uint32_t crc;        /* crc32c of the data, as snapshot_save wrote it in the header */
    uint64_t size;       /* bytes of data */
    uint64_t encode_ms;  /* sm_snapshot_encode */
    uint64_t write_ms;   /* snapshot_save: write, fdatasync, rename, directory fsync */
    uint64_t private_kb; /* the child's Private_Dirty at the end: its own buffers plus the
                            pages either side wrote since the fork (copy-on-write) */
    char err[232];       /* why not, when !ok */
};

/* The snapshot being taken by a forked child, at most one at a time. */
struct snapshot_child {
    pid_t pid;        /* 0 when there is none */
    int fd;           /* read end of its report pipe; -1 once closed */
    raft_index index; /* what it covers: last applied index and its term at the fork */
    raft_term term;
    uint64_t bytes_mark; /* applied_bytes at the fork */
    uint64_t started_ms;
    uint64_t fork_ms; /* how long fork() held the event loop */
    bool superseded;  /* a snapshot from the leader was installed meanwhile */
    size_t got;       /* bytes of report read so far */
    struct snapshot_report report;
};

/* Snapshots (§7): ours on disk, the child taking the next one, transfers out (leader)
 * and in (follower). */
struct snapshots {
    raft_index index; /* ours: what it covers, its bytes' size and CRC */
    raft_term term;
    uint64_t size;
    uint32_t crc;
    struct raft_configuration configuration; /* the one it carries */
    struct snapshot_send sends[CONFIG_MAX_PEERS + 1];
    struct snapshot_receiver *receiver; /* the one being received, durable so far */
    raft_index receiving_index;
    raft_term receiving_term;
    uint64_t receiving_size;
    uint32_t receiving_crc;
    uint64_t receiving_have;             /* bytes of it durable so far */
    struct snapshot_install *installing; /* then read into the state machine */
    struct snapshot_child child;
    uint64_t applied_bytes; /* payload bytes of the entries applied since boot */
    uint64_t bytes_mark;    /* applied_bytes when our last snapshot was taken */
    uint64_t retry_ms;      /* after a failed snapshot, no new one before this */
    unsigned failures;      /* in a row, for the back-off */
    char err[512];          /* what the storage calls say went wrong */
};

static void remove_fork_leftovers(const struct peer *p);

raft_index snapshot_last_index(const struct snapshots *s)
{
    return s->index;
}

raft_term snapshot_last_term(const struct snapshots *s)
{
    return s->term;
}

struct raft_configuration snapshot_last_configuration(const struct snapshots *s)
{
    return s->configuration;
}

void snapshot_note_applied(struct snapshots *s, uint64_t bytes)
{
    s->applied_bytes += bytes;
}

int snapshot_boot(struct peer *p, char *err, size_t errlen)
{
    struct snapshots *s = calloc(1, sizeof(*s));
    if (!s) {
        set_err(err, errlen, "out of memory");
        return -1;
    }
    p->snapshots = s;
    s->child.pid = 0;
    s->child.fd = -1;
    struct snapshot_meta m;
    uint8_t *data = NULL;
    if (snapshot_load(p->data_dir, &m, &data, err, errlen) != 0)
        return -1;
    if (m.index > 0) {
        const uint8_t *sm_bytes;
        size_t sm_len;
        int rc = snapshot_config_split(data, m.size, &p->boot_configuration, &s->configuration,
                                       &sm_bytes, &sm_len);
        if (rc != 0)
            set_err(err, errlen, "%s/snapshot: its configuration is damaged", p->data_dir);
        else
            rc = sm_snapshot_decode(p->sm, sm_bytes, sm_len, err, errlen);
        free(data);
        if (rc != 0)
            return -1;
        if (sm_last_applied(p->sm) != m.index) {
            set_err(err, errlen, "%s/snapshot: covers index %llu but its state machine is at %llu",
                    p->data_dir, (unsigned long long)m.index,
                    (unsigned long long)sm_last_applied(p->sm));
            return -1;
        }
    }
    s->index = m.index;
    s->term = m.term;
    s->size = m.size;
    s->crc = m.crc;
    remove_fork_leftovers(p);
    return 0;
}

/* ---- taking snapshots in a forked child ----
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
static void remove_fork_leftovers(const struct peer *p)
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

/* Reaps a finished child, if any, and adopts its snapshot. Never blocks. */
static void child_poll(struct peer *p)
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
        child_poll(p); /* end of file: it has exited, or is about to */
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
static void supersede_child(struct peer *p)
{
    struct snapshots *s = p->snapshots;
    if (s->child.pid == 0)
        return;
    s->child.superseded = true;
    (void)kill(s->child.pid, SIGKILL);
}

/* §7: "Servers take snapshots when the log reaches a fixed size in bytes"; here, when
 * snapshot_threshold entries or snapshot_threshold_bytes of entry payload have been
 * applied since the last snapshot, whichever comes first. */
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
    raft_term term = raft_term_at(p->raft, applied);
    if (term == 0) {
        event_log_write(p->log, EVENT_LOG_ERROR, "no term for index %llu: no snapshot there",
                        (unsigned long long)applied);
        child_failed_later(p);
        return;
    }
    start_child(p, applied, term);
}

/* An encoded line to a follower or the leader, through the peer links (delay and cuts
 * included). */
static void send_encoded(struct peer *p, raft_id to, struct buffer *line, int rc)
{
    if (rc == 0)
        links_send_line(p, to, buffer_peek(line), buffer_len(line));
    else
        event_log_write(p->log, EVENT_LOG_ERROR, "cannot encode a snapshot message for %s",
                        p->names[to - 1]);
    buffer_free(line);
}

static void send_end(struct peer *p, raft_id to)
{
    struct snapshots *s = p->snapshots;
    struct snapshot_send *t = &s->sends[to];
    free(t->data);
    t->data = NULL;
    t->active = false;
}

static void send_chunk(struct peer *p, raft_id to)
{
    struct snapshots *s = p->snapshots;
    struct snapshot_send *t = &s->sends[to];
    uint64_t left = t->size - t->offset;
    size_t want = left < RPC_SNAPSHOT_CHUNK_MAX ? (size_t)left : RPC_SNAPSHOT_CHUNK_MAX;
    struct rpc_install_snapshot m = {
        .from = p->self,
        .to = to,
        .term = raft_current_term(p->raft),
        .last_included_index = t->index,
        .last_included_term = t->term,
        .size = t->size,
        .crc = t->crc,
        .offset = t->offset,
        .data = t->data + t->offset,
        .len = want,
        .done = t->offset + want == t->size,
    };
    struct buffer line;
    buffer_init(&line);
    t->sent_ms = el_now_ms();
    send_encoded(p, to, &line, rpc_encode_install_snapshot(&m, p->names, p->n, &line));
}

void snapshot_start_sends(struct peer *p, const struct raft_snapshot_request *reqs, size_t n)
{
    struct snapshots *s = p->snapshots;
    for (size_t i = 0; i < n; i++) {
        const struct raft_snapshot_request *req = &reqs[i];
        raft_id to = req->to;
        if (to < 1 || to > p->n || s->sends[to].active)
            continue;
        if (s->index < req->index) {
            /* Cannot happen: we only compact what a snapshot covers. Say so, and retry. */
            event_log_write(p->log, EVENT_LOG_ERROR,
                            "%s needs a snapshot at %llu but ours is at %llu", p->names[to - 1],
                            (unsigned long long)req->index, (unsigned long long)s->index);
            raft_snapshot_sent(p->raft, to, req->index, false);
            continue;
        }
        struct snapshot_meta m;
        uint8_t *data = NULL;
        if (snapshot_load(p->data_dir, &m, &data, s->err, sizeof(s->err)) != 0 ||
            m.index < req->index) {
            event_log_write(p->log, EVENT_LOG_ERROR, "cannot read our snapshot for %s: %s",
                            p->names[to - 1], s->err);
            free(data);
            raft_snapshot_sent(p->raft, to, req->index, false);
            continue;
        }
        struct snapshot_send *t = &s->sends[to];
        *t = (struct snapshot_send){.active = true,
                                    .index = m.index,
                                    .term = m.term,
                                    .size = m.size,
                                    .crc = m.crc,
                                    .data = data};
        event_log_write(
            p->log, EVENT_LOG_INFO,
            "%s is behind our compacted log: sending snapshot at index %llu (%llu bytes)",
            p->names[to - 1], (unsigned long long)t->index, (unsigned long long)t->size);
        send_chunk(p, to);
    }
}

/* A follower gone silent (peer_links.c) is not worth a copy of our snapshot in memory:
 * the core asks again once it answers. Only between readies: it calls the core. */
void snapshot_abort_send(struct peer *p, raft_id to)
{
    struct snapshots *s = p->snapshots;
    struct snapshot_send *t = &s->sends[to];
    if (!t->active)
        return;
    raft_index index = t->index;
    send_end(p, to);
    event_log_write(p->log, EVENT_LOG_INFO, "%s is silent: snapshot transfer given up",
                    p->names[to - 1]);
    raft_snapshot_sent(p->raft, to, index, false);
}

void snapshot_abort_sends(struct peer *p)
{
    for (raft_id id = 1; id <= p->n; id++)
        send_end(p, id);
}

/* Resends a chunk nobody answered (the connection dropped, or the follower restarted). */
void snapshot_housekeeping(struct peer *p)
{
    struct snapshots *s = p->snapshots;
    child_poll(p); /* in case the pipe's end of file came before the exit */
    uint64_t now = el_now_ms();
    for (raft_id id = 1; id <= p->n; id++) {
        struct snapshot_send *t = &s->sends[id];
        if (!t->active)
            continue;
        if (raft_role(p->raft) != RAFT_LEADER) {
            send_end(p, id);
            continue;
        }
        if (now >= t->sent_ms + CHUNK_RESEND_MS)
            send_chunk(p, id);
    }
}

/* Follower: how far the transfer from leader got (next: the byte it should send next),
 * or done once the snapshot is ours. */
static void reply(struct peer *p, raft_id leader, raft_index index, uint64_t next, bool done)
{
    struct rpc_install_snapshot_result r = {
        .from = p->self,
        .to = leader,
        .term = raft_current_term(p->raft),
        .last_included_index = index,
        .next_offset = next,
        .done = done,
    };
    struct buffer line;
    buffer_init(&line);
    send_encoded(p, leader, &line, rpc_encode_install_snapshot_result(&r, p->names, p->n, &line));
}

/* A next_offset past the end tells the leader this transfer failed for good: it gives
 * up (raft_snapshot_sent false) and the core asks again at its own pace. */
static void reply_failed(struct peer *p, raft_id leader, raft_index index, uint64_t size)
{
    reply(p, leader, index, size + 1, false);
}

/* snapshot_install.c is done reading the received snapshot: answer the leader, and make
 * the snapshot ours if the core and the state machine switched over to it. */
static void on_install_done(void *ctx, const struct snapshot_install_result *r)
{
    struct peer *p = ctx;
    struct snapshots *s = p->snapshots;
    const struct snapshot_meta *m = r->meta;
    s->installing = NULL; /* it frees itself when we return */
    switch (r->outcome) {
    case SNAPSHOT_INSTALLED:
        s->index = m->index;
        s->term = m->term;
        s->size = m->size;
        s->crc = m->crc;
        s->configuration = *r->configuration;
        s->bytes_mark = s->applied_bytes;
        reply(p, r->leader, m->index, m->size, true);
        break;
    case SNAPSHOT_ALREADY_APPLIED:
        reply(p, r->leader, m->index, m->size, true);
        break;
    case SNAPSHOT_TERM_OVER:
        reply(p, r->leader, m->index, 0, false); /* our newer term tells it to step down */
        break;
    case SNAPSHOT_LOAD_FAILED:
        reply_failed(p, r->leader, m->index, m->size);
        break;
    }
}

/* Follower side of Figure 13: one decoded chunk, from the leader it names. */
static void receive_chunk(struct peer *p, const struct rpc_install_snapshot *c)
{
    struct snapshots *s = p->snapshots;
    raft_id leader = c->from;
    raft_term term = c->term;
    raft_index index = c->last_included_index;
    raft_term last_term = c->last_included_term;
    uint64_t size = c->size;
    uint32_t crc = c->crc;
    int rc = raft_snapshot_chunk(p->raft, leader, term, el_now_ms());
    if (rc == RAFT_EINVAL) {
        reply(p, leader, index, 0, false); /* our newer term tells it to step down */
        return;
    }
    if (rc != RAFT_OK)
        return; /* stopped: silence, so the leader paces its retries instead of bouncing */
    if (s->installing)
        return; /* still loading the last one: the leader asks again in CHUNK_RESEND_MS */
    if (index <= raft_commit_index(p->raft)) {
        reply(p, leader, index, size, true); /* we have all of it already */
        /* Nothing changes in the core: it only acknowledges what it has. */
        raft_install_snapshot(p->raft, leader, term, index, last_term, raft_configuration(p->raft),
                              el_now_ms());
        return;
    }
    if (!s->receiver || s->receiving_index != index || s->receiving_term != last_term ||
        s->receiving_size != size || s->receiving_crc != crc) {
        snapshot_receiver_close(s->receiver);
        s->receiver = NULL;
        struct snapshot_meta m = {.index = index, .term = last_term, .size = size, .crc = crc};
        uint64_t have = 0;
        if (snapshot_receiver_open(p->data_dir, &m, &s->receiver, &have, s->err, sizeof(s->err)) !=
            0) {
            event_log_write(p->log, EVENT_LOG_ERROR, "cannot receive a snapshot: %s", s->err);
            return;
        }
        s->receiving_index = index;
        s->receiving_term = last_term;
        s->receiving_size = size;
        s->receiving_crc = crc;
        s->receiving_have = have;
        event_log_write(p->log, EVENT_LOG_INFO,
                        "receiving snapshot at index %llu from %s (%llu bytes%s)",
                        (unsigned long long)index, p->names[leader - 1], (unsigned long long)size,
                        have ? ", resuming" : "");
    }
    if (c->offset == s->receiving_have && s->receiving_have < size) {
        if (snapshot_receiver_write(s->receiver, c->offset, c->data, c->len, s->err,
                                    sizeof(s->err)) != 0) {
            event_log_write(p->log, EVENT_LOG_WARN, "snapshot chunk at %llu refused: %s",
                            (unsigned long long)c->offset, s->err);
            snapshot_receiver_close(s->receiver);
            s->receiver = NULL;
            reply_failed(p, leader, index, size);
            return;
        }
        s->receiving_have += c->len;
    }
    bool complete = s->receiving_have == size;
    if (complete) {
        if (snapshot_receiver_finish(s->receiver, s->err, sizeof(s->err)) != 0) {
            event_log_write(p->log, EVENT_LOG_ERROR, "received snapshot is bad: %s", s->err);
            snapshot_receiver_close(s->receiver);
            s->receiver = NULL;
            reply_failed(p, leader, index, size);
            return;
        }
        snapshot_receiver_close(s->receiver);
        s->receiver = NULL;
        /* The file is now our snapshot: a snapshot of our own, still being written or
         * yet to come, must not replace it before the state machine holds it. */
        supersede_child(p);
        s->installing = snapshot_install_start(p, leader, term, index, on_install_done, p);
        if (!s->installing)
            reply_failed(p, leader, index, size);
        return; /* answered once it is loaded (on_install_done) */
    }
    reply(p, leader, index, s->receiving_have, false);
}

/* A chunk as it came off the wire. */
void snapshot_handle_chunk(struct peer *p, struct json_object *obj)
{
    char err[256] = ""; /* read below when the decode succeeds */
    uint8_t *raw = malloc(RPC_SNAPSHOT_CHUNK_MAX);
    struct rpc_install_snapshot m;
    if (!raw) {
        event_log_write(p->log, EVENT_LOG_ERROR, "out of memory for a snapshot chunk");
        return;
    }
    if (rpc_decode_install_snapshot(obj, p->names, p->n, &m, raw, err, sizeof(err)) != 0 ||
        m.to != p->self) {
        event_log_write(p->log, EVENT_LOG_WARN, "bad install_snapshot message: %s",
                        m.to != p->self && !err[0] ? "addressed to another peer" : err);
        free(raw);
        return;
    }
    receive_chunk(p, &m);
    free(raw);
}

/* Leader side: the follower says how far it got. */
void snapshot_handle_result(struct peer *p, struct json_object *obj)
{
    struct snapshots *s = p->snapshots;
    char err[128] = "";
    struct rpc_install_snapshot_result r;
    if (rpc_decode_install_snapshot_result(obj, p->names, p->n, &r, err, sizeof(err)) != 0 ||
        r.to != p->self) {
        event_log_write(p->log, EVENT_LOG_WARN, "bad install_snapshot_result: %s",
                        r.to != p->self && !err[0] ? "addressed to another peer" : err);
        return;
    }
    raft_id from = r.from;
    raft_term term = r.term;
    raft_index index = r.last_included_index;
    uint64_t next = r.next_offset;
    bool done = r.done;
    raft_observe_term(p->raft, from, term);
    struct snapshot_send *t = &s->sends[from];
    if (!t->active || index != t->index || raft_role(p->raft) != RAFT_LEADER)
        return;
    if (done) {
        raft_index sent = t->index;
        send_end(p, from);
        raft_snapshot_sent(p->raft, from, sent, true);
        event_log_write(p->log, EVENT_LOG_INFO, "%s installed our snapshot at index %llu",
                        p->names[from - 1], (unsigned long long)index);
        return;
    }
    if (next > t->size) {
        raft_index sent = t->index;
        send_end(p, from);
        raft_snapshot_sent(p->raft, from, sent, false);
        return;
    }
    t->offset = next;
    send_chunk(p, from);
}

void snapshot_free(struct peer *p)
{
    struct snapshots *s = p->snapshots;
    if (!s)
        return;
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
    snapshot_abort_sends(p);
    snapshot_install_cancel(s->installing);
    snapshot_receiver_close(s->receiver);
    free(s);
    p->snapshots = NULL;
}
