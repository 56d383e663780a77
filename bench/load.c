/* load.c: see load.h. Each client owns one connection and one command at a time; the
 * loop wakes for socket events and for the earliest client deadline (a retry pause or
 * a request timeout), so one thread drives hundreds of clients without spinning. */
#include "bench/load.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "common/buffer.h"
#include "common/client_protocol.h"
#include "common/net.h"

/* A peer answers one short line per request; anything longer is not an answer. */
#define ANSWER_MAX 8192

enum client_state {
    C_IDLE,       /* nothing on the wire; send when deadline_us passes */
    C_CONNECTING, /* connect in progress; the request follows once it completes */
    C_WAITING,    /* request (partly) written, answer awaited */
};

struct client {
    int fd;
    uint32_t gen; /* bumped per connection, so an event for a closed fd is recognised */
    enum client_state st;
    int target;
    char id[CLIENT_ID_MAX + 1];
    unsigned sessions_expired; /* how many of this client's sessions the cluster forgot */
    uint64_t seq;
    struct client_request req;                           /* the current command */
    char line[CLIENT_COMMAND_MAX + CLIENT_ID_MAX + 128]; /* req encoded */
    size_t line_len;
    size_t line_sent;      /* bytes of line already written on this connection */
    bool attempt_written;  /* some of this attempt's bytes went out */
    bool may_have_reached; /* an attempt may be in a leader's log: resend as a retry */
    bool is_write;
    uint64_t started_us;  /* first attempt of the current command */
    uint64_t deadline_us; /* idle: send then; otherwise: give up then */
    struct buffer in;
};

struct engine {
    const struct load_options *o;
    struct load_result *r;
    int ep;
    struct client *cl;
    uint64_t suspect_until[LOAD_MAX_TARGETS];
    uint64_t win_start, win_end;
    uint64_t rng;
    unsigned fill_next; /* fill mode: the next variable to set */
    unsigned fill_done; /* ... and how many are answered */
};

static uint64_t event_key(int client, uint32_t gen)
{
    return ((uint64_t)(uint32_t)client << 32) | gen;
}

static void note_bad(struct engine *e, const char *what)
{
    if (!e->r->first_bad[0])
        snprintf(e->r->first_bad, sizeof(e->r->first_bad), "%s", what);
}

static void encode_request(struct client *c)
{
    int len = client_request_encode(&c->req, c->line, sizeof(c->line));
    c->line_len = len > 0 ? (size_t)len : 0;
}

/* Client i's id for its current session: "<prefix>-<i>", then "<prefix>-<i>.<k>" once
 * the cluster has forgotten k of its sessions. */
static void name_session(const struct engine *e, struct client *c)
{
    int i = (int)(c - e->cl);
    if (c->sessions_expired == 0)
        snprintf(c->id, sizeof(c->id), "%s-%d", e->o->id_prefix, i);
    else
        snprintf(c->id, sizeof(c->id), "%s-%d.%u", e->o->id_prefix, i, c->sessions_expired);
}

static void drop_connection(struct engine *e, struct client *c)
{
    if (c->fd >= 0) {
        epoll_ctl(e->ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = -1;
    c->gen++;
    buffer_clear(&c->in);
}

/* The next peer after from that is not suspect; when every other one is, the one whose
 * suspicion ends first (it failed longest ago). */
static int next_target(const struct engine *e, int from, uint64_t now)
{
    int n = e->o->n_targets;
    int best = (from + 1) % n;
    for (int step = 1; step < n; step++) {
        int t = (from + step) % n;
        if (now >= e->suspect_until[t])
            return t;
        if (e->suspect_until[t] < e->suspect_until[best])
            best = t;
    }
    return best;
}

/* The connection failed us (refused, reset, silent): try the next peer after a pause.
 * A peer that timed out or refused is suspect, so redirects to it are not followed
 * for a while: a follower keeps naming a dead leader until its own timeout fires. */
static void fail_over(struct engine *e, struct client *c, bool suspect, uint64_t now)
{
    c->may_have_reached |= c->attempt_written;
    drop_connection(e, c);
    if (suspect)
        e->suspect_until[c->target] = now + (uint64_t)e->o->suspect_ms * 1000u;
    c->target = next_target(e, c->target, now);
    c->st = C_IDLE;
    c->deadline_us = now + (uint64_t)e->o->retry_delay_ms * 1000u;
}

static void set_events(struct engine *e, struct client *c, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.u64 = event_key((int)(c - e->cl), c->gen)};
    epoll_ctl(e->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Writes what is left of the request; asks for EPOLLOUT only when the kernel took less. */
static void flush_request(struct engine *e, struct client *c, uint64_t now)
{
    while (c->line_sent < c->line_len) {
        ssize_t n = write(c->fd, c->line + c->line_sent, c->line_len - c->line_sent);
        if (n > 0) {
            c->line_sent += (size_t)n;
            c->attempt_written = true;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            set_events(e, c, EPOLLIN | EPOLLOUT);
            return;
        }
        e->r->conn_lost++;
        fail_over(e, c, true, now);
        return;
    }
    set_events(e, c, EPOLLIN);
}

static void send_request(struct engine *e, struct client *c, uint64_t now)
{
    if (c->may_have_reached && !c->req.retry) {
        c->req.retry = true;
        encode_request(c);
    }
    c->line_sent = 0;
    c->attempt_written = false;
    c->deadline_us = now + (uint64_t)e->o->request_timeout_ms * 1000u;
    if (c->fd >= 0) {
        c->st = C_WAITING;
        flush_request(e, c, now);
        return;
    }
    const struct load_target *t = &e->o->targets[c->target];
    char err[160];
    c->fd = tcp_connect_nonblock(err, sizeof(err), t->host, t->port);
    if (c->fd < 0) {
        e->r->conn_lost++;
        fail_over(e, c, true, now);
        return;
    }
    c->gen++;
    struct epoll_event ev = {.events = EPOLLOUT, .data.u64 = event_key((int)(c - e->cl), c->gen)};
    if (epoll_ctl(e->ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
        e->r->conn_lost++;
        fail_over(e, c, false, now);
        return;
    }
    c->st = C_CONNECTING;
}

static void new_command(struct engine *e, struct client *c, uint64_t now)
{
    c->req = (struct client_request){.seq = 0};
    memcpy(c->req.client_id, c->id, sizeof(c->req.client_id));
    if (e->o->fill) {
        if (e->fill_next >= e->o->fill) {
            drop_connection(e, c); /* nothing left to send: this client rests */
            c->st = C_IDLE;
            c->deadline_us = UINT64_MAX;
            return;
        }
        unsigned k = e->fill_next++;
        snprintf(c->req.command, sizeof(c->req.command), "k%u set %u", k, k);
        c->is_write = true;
    } else {
        mix_draw(e->o->mix, &e->rng, e->o->keys, c->req.command, sizeof(c->req.command),
                 &c->is_write);
    }
    /* Only writes use up a seq: a read never reaches the log, and a session must start
     * with its first write at seq 1. */
    c->req.seq = c->is_write ? ++c->seq : c->seq + 1;
    encode_request(c);
    c->may_have_reached = false;
    c->started_us = now;
    send_request(e, c, now);
}

static void record(struct engine *e, struct client *c, const struct client_response *resp,
                   uint64_t now)
{
    bool answered_ok = resp->ok || !strcmp(resp->error, "overflow") ||
                       !strcmp(resp->error, "cas_failed") || !strcmp(resp->error, "div_by_zero");
    if (e->o->fill)
        e->fill_done++; /* answered, well or not: a bad answer is counted below */
    if (answered_ok && e->o->probe) {
        atomic_store(&e->o->probe->last_ok, (now << 8) | (uint64_t)c->target);
        atomic_fetch_add(&e->o->probe->ok_count, 1);
    }
    if (!answered_ok) {
        char what[320];
        snprintf(what, sizeof(what), "%s: %s", resp->error, resp->message);
        note_bad(e, what);
    }
    if (c->started_us < e->win_start || now > e->win_end)
        return;
    struct load_result *r = e->r;
    r->ops++;
    if (resp->ok)
        r->ok++;
    else if (answered_ok)
        r->app_errors++;
    else
        r->bad++;
    uint64_t us = now - c->started_us;
    latency_add(&r->all, us);
    latency_add(c->is_write ? &r->writes : &r->reads, us);
}

static int find_target(const struct engine *e, const struct client_response *resp)
{
    for (int i = 0; i < e->o->n_targets; i++)
        if (resp->leader[0] && !strcmp(resp->leader, e->o->targets[i].name))
            return i;
    for (int i = 0; i < e->o->n_targets; i++)
        if (resp->port && resp->port == e->o->targets[i].port &&
            !strcmp(resp->host, e->o->targets[i].host))
            return i;
    return -1;
}

static void on_answer(struct engine *e, struct client *c, const char *line, size_t len)
{
    uint64_t now = bench_now_us();
    struct client_response resp;
    char err[160];
    if (client_response_decode(line, len, &resp, err, sizeof(err)) != 0) {
        note_bad(e, err);
        e->r->conn_lost++;
        fail_over(e, c, false, now);
        return;
    }
    e->suspect_until[c->target] = 0; /* it answered: alive, whatever it said */
    if (!resp.ok && !strcmp(resp.error, "not_leader")) {
        e->r->redirects++;
        int to = find_target(e, &resp);
        drop_connection(e, c);
        c->st = C_IDLE;
        if (to >= 0 && to != c->target && now >= e->suspect_until[to]) {
            c->target = to;
            c->deadline_us = now; /* a known leader: go at once */
        } else {
            c->target = next_target(e, c->target, now);
            c->deadline_us = now + (uint64_t)e->o->retry_delay_ms * 1000u;
        }
        return;
    }
    if (!resp.ok && !strcmp(resp.error, "unavailable")) {
        e->r->unavailable++; /* same seq again: exactly-once makes the retry safe */
        c->may_have_reached = true;
        c->st = C_IDLE;
        c->deadline_us = now + (uint64_t)e->o->retry_delay_ms * 1000u;
        return;
    }
    record(e, c, &resp, now);
    if (!resp.ok && !strcmp(resp.error, "session_expired")) {
        /* Counted as bad above (its outcome is unknown); no later seq of this id can run. */
        c->sessions_expired++;
        name_session(e, c);
        c->seq = 0;
    }
    new_command(e, c, now);
}

static void on_readable(struct engine *e, struct client *c)
{
    for (;;) {
        if (buffer_reserve(&c->in, 4096) != 0) {
            fail_over(e, c, false, bench_now_us());
            return;
        }
        ssize_t n = read(c->fd, buffer_tail(&c->in), buffer_space(&c->in));
        if (n > 0) {
            buffer_commit(&c->in, (size_t)n);
            if (buffer_len(&c->in) > ANSWER_MAX)
                break;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        e->r->conn_lost++; /* closed or reset: the peer died or hung up */
        fail_over(e, c, true, bench_now_us());
        return;
    }
    const char *data = buffer_peek(&c->in);
    const char *nl = memchr(data, '\n', buffer_len(&c->in));
    if (!nl) {
        if (buffer_len(&c->in) > ANSWER_MAX) {
            note_bad(e, "an answer line longer than 8 KiB");
            e->r->conn_lost++;
            fail_over(e, c, false, bench_now_us());
        }
        return;
    }
    if (c->st != C_WAITING || (size_t)(nl - data) + 1 != buffer_len(&c->in)) {
        /* One request outstanding means one answer: more is a protocol error. */
        note_bad(e, "an unexpected extra line from a peer");
        e->r->bad++;
        fail_over(e, c, false, bench_now_us());
        return;
    }
    size_t len = (size_t)(nl - data);
    char line[ANSWER_MAX + 1];
    memcpy(line, data, len);
    line[len] = 0;
    buffer_clear(&c->in);
    on_answer(e, c, line, len);
}

static void on_event(struct engine *e, struct client *c, uint32_t events)
{
    uint64_t now = bench_now_us();
    if (c->st == C_CONNECTING) {
        char err[160];
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            return;
        if (tcp_connect_finish(err, sizeof(err), c->fd) != 0) {
            e->r->conn_lost++;
            fail_over(e, c, true, now);
            return;
        }
        set_nodelay(err, sizeof(err), c->fd);
        c->st = C_WAITING;
        flush_request(e, c, now);
        return;
    }
    if (c->st == C_IDLE) {
        /* Idle but connected (pausing after unavailable): only a hang-up can come. */
        on_readable(e, c);
        return;
    }
    if ((events & EPOLLOUT) && c->line_sent < c->line_len) {
        flush_request(e, c, now);
        if (c->st != C_WAITING)
            return;
    }
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
        on_readable(e, c);
}

/* Sends what is due, gives up on what timed out, and says how long the loop may sleep. */
static int run_deadlines(struct engine *e, uint64_t now)
{
    uint64_t next = now + 100000u;
    for (int i = 0; i < e->o->clients; i++) {
        struct client *c = &e->cl[i];
        if (now >= c->deadline_us) {
            if (c->st == C_IDLE) {
                send_request(e, c, now);
            } else {
                e->r->timeouts++;
                fail_over(e, c, true, now);
            }
        }
        if (c->deadline_us < next)
            next = c->deadline_us;
    }
    if (e->win_end < next)
        next = e->win_end;
    if (next <= now)
        return 0;
    return (int)((next - now + 999) / 1000);
}

static int check_options(const struct load_options *o, char *err, size_t errlen)
{
    if (o->n_targets < 1 || o->n_targets > LOAD_MAX_TARGETS || o->first_target < 0 ||
        o->first_target >= o->n_targets) {
        snprintf(err, errlen, "between 1 and %d peers are needed", LOAD_MAX_TARGETS);
        return -1;
    }
    if (o->clients < 1 || o->clients > LOAD_MAX_CLIENTS) {
        snprintf(err, errlen, "clients must be 1..%d", LOAD_MAX_CLIENTS);
        return -1;
    }
    if (!o->mix || o->keys == 0 || o->request_timeout_ms < 1 || o->retry_delay_ms < 0 ||
        o->suspect_ms < 0 || !o->id_prefix || strlen(o->id_prefix) > 40) {
        snprintf(err, errlen, "bad load options");
        return -1;
    }
    if (o->duration_us == 0 && !o->probe && !o->fill) {
        snprintf(err, errlen, "a run without a duration needs a probe to stop it");
        return -1;
    }
    return 0;
}

int load_run(const struct load_options *o, struct load_result *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof(*r));
    latency_init(&r->all);
    latency_init(&r->writes);
    latency_init(&r->reads);
    if (check_options(o, err, errlen) != 0)
        return -1;
    struct engine e = {.o = o, .r = r, .rng = o->seed ^ 0x5bd1e995u};
    int rc = -1;
    e.ep = epoll_create1(EPOLL_CLOEXEC);
    e.cl = calloc((size_t)o->clients, sizeof(*e.cl));
    if (e.ep < 0 || !e.cl) {
        snprintf(err, errlen, "cannot set up the load loop: %s", strerror(errno));
        goto out;
    }
    uint64_t start = bench_now_us();
    e.win_start = start + o->warmup_us;
    e.win_end = o->duration_us ? e.win_start + o->duration_us : UINT64_MAX;
    for (int i = 0; i < o->clients; i++) {
        struct client *c = &e.cl[i];
        c->fd = -1;
        c->target = o->first_target;
        buffer_init(&c->in);
        name_session(&e, c);
        new_command(&e, c, start);
    }
    struct epoll_event evs[256];
    for (;;) {
        uint64_t now = bench_now_us();
        if (now >= e.win_end || (o->probe && atomic_load(&o->probe->stop)) ||
            (o->fill && e.fill_done >= o->fill))
            break;
        int wait_ms = run_deadlines(&e, now);
        int n = epoll_wait(e.ep, evs, 256, wait_ms);
        if (n < 0 && errno != EINTR) {
            snprintf(err, errlen, "epoll_wait: %s", strerror(errno));
            goto out;
        }
        for (int i = 0; i < n; i++) {
            uint64_t key = evs[i].data.u64;
            int idx = (int)(key >> 32);
            if (idx < 0 || idx >= o->clients || e.cl[idx].gen != (uint32_t)key || e.cl[idx].fd < 0)
                continue; /* stale: that connection was closed earlier in this batch */
            on_event(&e, &e.cl[idx], evs[i].events);
        }
    }
    uint64_t end = bench_now_us();
    r->window_us = end > e.win_start ? end - e.win_start : 0;
    if (o->duration_us && r->window_us > o->duration_us)
        r->window_us = o->duration_us;
    rc = 0;
out:
    if (e.cl) {
        for (int i = 0; i < o->clients; i++) {
            drop_connection(&e, &e.cl[i]);
            buffer_free(&e.cl[i].in);
        }
        free(e.cl);
    }
    if (e.ep >= 0)
        close(e.ep);
    if (rc != 0)
        load_result_free(r);
    return rc;
}

void load_result_free(struct load_result *r)
{
    latency_free(&r->all);
    latency_free(&r->writes);
    latency_free(&r->reads);
}
