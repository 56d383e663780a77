/* conn_table.c: accepted connections, as bytes and lines (conn_table.h). Every line is
 * bounded before anyone parses it; a closed connection is freed only between rounds. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/client_protocol.h"
#include "common/event_log.h"
#include "common/net.h"
#include "raft_peer/net/conn_table.h"
#include "raft_peer/net/event_loop.h"
#include "raft_peer/net/fd_flush.h"
#include "raft_peer/net/rpc_codec.h"

#define READ_CHUNK (256u << 10)

struct conn_table {
    struct event_loop *el;
    struct event_log *log;
    struct conn_handlers handlers;
    int listen_fd;
    bool accept_paused; /* out of fds and nobody to evict: listening resumes on a timer */
    struct conn **by_fd;
    int cap;
    int n;
    uint64_t next_id;
    struct conn *closed; /* closed, not yet freed */
    int64_t sweep_timer;
    uint64_t evicted, line_timeouts; /* since the last log line about them */
    uint64_t last_report_ms;
};

/* A peer that said hello may send the long lines replication needs; anyone else is
 * held to the client limit. */
static size_t line_max(const struct conn *c)
{
    return c->peer ? RPC_LINE_MAX : CLIENT_LINE_MAX;
}

void conn_close(struct conn *c)
{
    struct conn_table *t = c->table;
    if (c->closed)
        return;
    el_del_file(t->el, c->fd, EL_READABLE | EL_WRITABLE);
    close(c->fd);
    if (c->fd < t->cap && t->by_fd[c->fd] == c) {
        t->by_fd[c->fd] = NULL;
        t->n--;
    }
    c->closed = true;
    c->next_closed = t->closed;
    t->closed = c;
}

void conn_table_reap(struct conn_table *t)
{
    while (t->closed) {
        struct conn *c = t->closed;
        t->closed = c->next_closed;
        buffer_free(&c->in);
        buffer_free(&c->out);
        free(c);
    }
}

struct conn *conn_table_lookup(struct conn_table *t, int fd, uint64_t id)
{
    if (fd < 0 || fd >= t->cap || !t->by_fd[fd] || t->by_fd[fd]->id != id)
        return NULL;
    return t->by_fd[fd];
}

static void on_conn_event(struct event_loop *el, int fd, void *data, int mask);

/* Writes what is queued; returns -1 when the connection is closed. */
static int conn_flush(struct conn *c)
{
    if (c->closed)
        return -1;
    int rc = fd_flush(c->table->el, c->fd, &c->out, on_conn_event, c->table, NULL);
    if (rc < 0 || (rc == 0 && c->closing)) {
        conn_close(c);
        return -1;
    }
    return 0;
}

int conn_write(struct conn *c, const char *data, size_t len)
{
    if (c->closed)
        return -1;
    if (buffer_len(&c->out) + len > CONN_OUT_MAX) {
        /* A client that does not read its answers is not worth unbounded memory. */
        conn_close(c);
        return -1;
    }
    if (buffer_append(&c->out, data, len) != 0) {
        conn_close(c);
        return -1;
    }
    return conn_flush(c);
}

/* Reads what is there and hands over every whole line. Returns -1 if c is closed. */
static int conn_read(struct conn *c)
{
    struct conn_handlers *h = &c->table->handlers;
    for (int rounds = 0; rounds < 16; rounds++) {
        if (buffer_reserve(&c->in, READ_CHUNK) != 0) {
            conn_close(c);
            return -1;
        }
        ssize_t n = read(c->fd, buffer_tail(&c->in), buffer_space(&c->in));
        if (n == 0) {
            conn_close(c);
            return -1;
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            conn_close(c);
            return -1;
        }
        buffer_commit(&c->in, (size_t)n);
        uint64_t now = el_now_ms();
        if (!c->partial_since_ms)
            c->partial_since_ms = now;
        for (;;) {
            const char *start = buffer_peek(&c->in);
            const char *nl = memchr(start, '\n', buffer_len(&c->in));
            if (!nl)
                break;
            size_t len = (size_t)(nl - start);
            c->last_line_ms = now;
            c->partial_since_ms = now; /* the next line starts here */
            h->line(h->ctx, c, start, len);
            if (c->closed)
                return -1;
            buffer_consume(&c->in, len + 1);
            if (c->closing)
                return conn_flush(c);
        }
        if (buffer_len(&c->in) == 0)
            c->partial_since_ms = 0;
        if (buffer_len(&c->in) > line_max(c)) {
            c->closing = true;
            h->line_too_long(h->ctx, c);
            conn_close(c); /* whether or not the answer got out: the rest is not read */
            return -1;
        }
        if ((size_t)n < READ_CHUNK)
            break;
    }
    return 0;
}

static void on_conn_event(struct event_loop *el, int fd, void *data, int mask)
{
    (void)el;
    struct conn_table *t = data;
    struct conn *c = fd < t->cap ? t->by_fd[fd] : NULL;
    if (!c)
        return;
    if ((mask & EL_READABLE) && conn_read(c) != 0)
        return;
    if (mask & EL_WRITABLE)
        conn_flush(c);
}

static int conns_track(struct conn_table *t, struct conn *c)
{
    if (c->fd >= t->cap) {
        int cap = t->cap ? t->cap : 64;
        while (cap <= c->fd)
            cap *= 2;
        struct conn **grown = realloc(t->by_fd, (size_t)cap * sizeof(*grown));
        if (!grown)
            return -1;
        memset(grown + t->cap, 0, (size_t)(cap - t->cap) * sizeof(*grown));
        t->by_fd = grown;
        t->cap = cap;
    }
    t->by_fd[c->fd] = c;
    t->n++;
    return 0;
}

/* Makes room for a newcomer: closes the connection that has gone longest without a whole
 * line, never the newest one each peer said hello on (replication must not be starved by
 * clients). Only the newest: a peer has one link to us at a time, and without a token
 * anyone may say hello as a peer, so a flood of hellos must stay evictable. False when
 * every connection is a peer's newest. */
static bool evict_idlest(struct conn_table *t)
{
    struct conn *idlest = NULL;
    uint64_t newest[RAFT_MAX_PEERS + 1] = {0};
    for (int fd = 0; fd < t->cap; fd++) {
        struct conn *c = t->by_fd[fd];
        if (c && c->peer && c->peer <= RAFT_MAX_PEERS && c->id > newest[c->peer])
            newest[c->peer] = c->id;
    }
    for (int fd = 0; fd < t->cap; fd++) {
        struct conn *c = t->by_fd[fd];
        if (c && (!c->peer || c->peer > RAFT_MAX_PEERS || c->id != newest[c->peer]) &&
            (!idlest || c->last_line_ms < idlest->last_line_ms ||
             (c->last_line_ms == idlest->last_line_ms && c->id < idlest->id)))
            idlest = c; /* the same ms: the older connection (fds are reused, ids never) */
    }
    if (!idlest)
        return false;
    conn_close(idlest);
    t->evicted++;
    return true;
}

static void on_accept(struct event_loop *el, int lfd, void *data, int mask);

static int64_t on_accept_resume(struct event_loop *el, int64_t id, void *data)
{
    (void)id;
    struct conn_table *t = data;
    t->accept_paused = false;
    el_add_file(el, t->listen_fd, EL_READABLE, on_accept, t);
    return -1;
}

/* accept() failed for want of fds (EMFILE, ENFILE) or memory: the listening socket stays
 * readable, so without a pause the loop would spin on it. Evicting the idlest client
 * frees an fd; with nobody to evict, stop listening for a moment. */
static void accept_starved(struct conn_table *t)
{
    if (evict_idlest(t))
        return;
    el_del_file(t->el, t->listen_fd, EL_READABLE);
    t->accept_paused = true;
    el_add_timer(t->el, 100, on_accept_resume, t);
}

static void on_accept(struct event_loop *el, int lfd, void *data, int mask)
{
    (void)mask;
    struct conn_table *t = data;
    for (int i = 0; i < 64 && !t->accept_paused; i++) {
        char ip[64], err[160];
        int port = 0;
        int fd = tcp_accept(err, sizeof(err), lfd, ip, sizeof(ip), &port);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                accept_starved(t);
            return;
        }
        if (t->n >= PEER_MAX_CONNS && !evict_idlest(t)) {
            close(fd); /* bounded memory: each connection may buffer a line */
            continue;
        }
        struct conn *c = calloc(1, sizeof(*c));
        if (!c || conns_track(t, (c->fd = fd, c)) != 0) {
            free(c);
            close(fd);
            continue;
        }
        c->table = t;
        c->id = ++t->next_id;
        c->last_line_ms = el_now_ms();
        buffer_init(&c->in);
        buffer_init(&c->out);
        if (el_add_file(el, fd, EL_READABLE, on_conn_event, t) != 0) {
            conn_close(c);
            continue;
        }
        c->loopback = peer_is_loopback(err, sizeof(err), fd) == 1;
        snprintf(c->addr, sizeof(c->addr), "%s:%d", ip, port);
        set_nodelay(err, sizeof(err), fd);
    }
}

/* Once a second: closes connections sitting on half a line past their limit, and says in
 * one log line per interval what was closed or evicted, so a flood cannot flood the log. */
static int64_t on_sweep(struct event_loop *el, int64_t id, void *data)
{
    (void)el;
    (void)id;
    struct conn_table *t = data;
    uint64_t now = el_now_ms();
    for (int fd = 0; fd < t->cap; fd++) {
        struct conn *c = t->by_fd[fd];
        uint64_t limit = c && c->peer ? CONN_PEER_LINE_MS : CONN_CLIENT_LINE_MS;
        if (c && c->partial_since_ms && now - c->partial_since_ms > limit) {
            conn_close(c);
            t->line_timeouts++;
        }
    }
    if ((t->evicted || t->line_timeouts) && now - t->last_report_ms >= 10000) {
        event_log_write(t->log, EVENT_LOG_WARN,
                        "connections: closed %llu holding half a line for over %d s, evicted "
                        "%llu idle ones to make room (%d open, at most %d)",
                        (unsigned long long)t->line_timeouts, CONN_CLIENT_LINE_MS / 1000,
                        (unsigned long long)t->evicted, t->n, PEER_MAX_CONNS);
        t->evicted = t->line_timeouts = 0;
        t->last_report_ms = now;
    }
    return 1000;
}

struct conn_table *conn_table_new(struct event_loop *el, struct event_log *log,
                                  const struct conn_handlers *handlers)
{
    struct conn_table *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->el = el;
    t->log = log;
    t->handlers = *handlers;
    t->listen_fd = -1;
    t->sweep_timer = -1;
    return t;
}

int conn_table_listen(struct conn_table *t, const char *host, int port, char *err, size_t errlen)
{
    t->listen_fd = tcp_listen(err, errlen, host, port, 511);
    if (t->listen_fd < 0)
        return -1;
    if (el_add_file(t->el, t->listen_fd, EL_READABLE, on_accept, t) != 0) {
        snprintf(err, errlen, "cannot watch the listening socket");
        return -1;
    }
    t->sweep_timer = el_add_timer(t->el, 1000, on_sweep, t);
    if (t->sweep_timer < 0) {
        snprintf(err, errlen, "out of memory for the connection sweep timer");
        return -1;
    }
    return 0;
}

void conn_table_free(struct conn_table *t)
{
    if (!t)
        return;
    for (int fd = 0; fd < t->cap; fd++)
        if (t->by_fd[fd])
            conn_close(t->by_fd[fd]);
    conn_table_reap(t);
    free(t->by_fd);
    if (t->sweep_timer > 0)
        el_del_timer(t->el, t->sweep_timer);
    if (t->listen_fd >= 0) {
        el_del_file(t->el, t->listen_fd, EL_READABLE);
        close(t->listen_fd);
    }
    free(t);
}

void conn_table_raise_fd_limit(void)
{
    struct rlimit rl;
    rlim_t want = PEER_MAX_CONNS + 256;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
        return;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
}
