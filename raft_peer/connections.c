/* connections.c: accepted connections. Each carries newline-delimited JSON: a client's
 * requests, another peer's RPCs, or the game's control messages. Every line is bounded,
 * parsed once, and dispatched on its "type"; bad input gets bad_request, never a crash. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/client_protocol.h"
#include "common/net.h"
#include "common/event_log.h"
#include "raft_peer/net/event_loop.h"
#include "raft_peer/peer.h"
#include "raft_peer/snapshot_service.h"
#include "raft_peer/net/rpc_codec.h"

#define READ_CHUNK (256u << 10)

/* Unhooks c and closes its fd at once (so the fd can be reused); frees it later. */
static void conn_close(struct peer *p, struct conn *c)
{
    struct conn_table *t = &p->conns;
    if (c->closed)
        return;
    el_del_file(p->el, c->fd, EL_READABLE | EL_WRITABLE);
    close(c->fd);
    if (c->fd < t->cap && t->by_fd[c->fd] == c) {
        t->by_fd[c->fd] = NULL;
        t->n--;
    }
    c->closed = true;
    c->next_closed = t->closed;
    t->closed = c;
}

void conns_reap(struct peer *p)
{
    while (p->conns.closed) {
        struct conn *c = p->conns.closed;
        p->conns.closed = c->next_closed;
        buffer_free(&c->in);
        buffer_free(&c->out);
        free(c);
    }
}

struct conn *conn_lookup(struct peer *p, int fd, uint64_t id)
{
    struct conn_table *t = &p->conns;
    if (fd < 0 || fd >= t->cap || !t->by_fd[fd] || t->by_fd[fd]->id != id)
        return NULL;
    return t->by_fd[fd];
}

static void on_conn_event(struct event_loop *el, int fd, void *data, int mask);

/* Writes what is queued; returns -1 when the connection is closed. */
static int conn_flush(struct peer *p, struct conn *c)
{
    if (c->closed)
        return -1;
    while (buffer_len(&c->out) > 0) {
        ssize_t n = write(c->fd, buffer_peek(&c->out), buffer_len(&c->out));
        if (n > 0) {
            buffer_consume(&c->out, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            el_add_file(p->el, c->fd, EL_WRITABLE, on_conn_event, p);
            return 0;
        }
        conn_close(p, c);
        return -1;
    }
    if (el_file_mask(p->el, c->fd) & EL_WRITABLE)
        el_del_file(p->el, c->fd, EL_WRITABLE);
    if (c->closing) {
        conn_close(p, c);
        return -1;
    }
    return 0;
}

int conn_send(struct peer *p, struct conn *c, const char *data, size_t len)
{
    if (c->closed)
        return -1;
    if (buffer_len(&c->out) + len > CONN_OUT_MAX) {
        /* A client that does not read its answers is not worth unbounded memory. */
        conn_close(p, c);
        return -1;
    }
    if (buffer_append(&c->out, data, len) != 0) {
        conn_close(p, c);
        return -1;
    }
    return conn_flush(p, c);
}

int conn_send_json(struct peer *p, struct conn *c, struct json_object *o)
{
    size_t len;
    const char *s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
    int rc = -1;
    char *line = malloc(len + 1);
    if (line) {
        memcpy(line, s, len);
        line[len] = '\n'; /* one send: the object and its newline, or nothing */
        rc = conn_send(p, c, line, len + 1);
        free(line);
    }
    json_object_put(o);
    return rc;
}

static bool is_rpc_type(const char *type)
{
    return !strcmp(type, "request_vote") || !strcmp(type, "request_vote_result") ||
           !strcmp(type, "append_entries") || !strcmp(type, "append_entries_result") ||
           !strcmp(type, "timeout_now");
}

/* Constant time, so a stray process cannot learn the token byte by byte. */
static bool token_matches(const char *expected, const char *given, size_t given_len)
{
    size_t len = strlen(expected);
    unsigned char diff = (unsigned char)(len != given_len);
    for (size_t i = 0; i < len; i++)
        diff |= (unsigned char)(expected[i] ^ (i < given_len ? given[i] : 0));
    return diff == 0;
}

static bool token_ok(struct peer *p, struct json_object *obj)
{
    if (!p->cfg.token[0])
        return true;
    const char *given;
    size_t len;
    char err[64];
    return json_get_string(obj, "token", &given, &len, err, sizeof(err)) == 0 &&
           token_matches(p->cfg.token, given, len);
}

/* {"type":"hello","from":"peer2","token":...}: the first line on a peer's connection
 * to us, naming it. With a cluster token set, nothing else is taken from a peer
 * connection that has not said hello with it (docs/SECURITY.md). */
static void handle_hello(struct peer *p, struct conn *c, struct json_object *obj)
{
    const char *from;
    size_t len;
    char err[64];
    int index = json_get_string(obj, "from", &from, &len, err, sizeof(err)) == 0
                    ? config_find_peer(&p->cfg, from)
                    : -1;
    if (index < 0 || index >= p->n || index + 1 == p->self || !token_ok(p, obj)) {
        event_log_write(p->log, EVENT_LOG_WARN, "refused a peer hello from %s: %s", c->addr,
                        index < 0 || index >= p->n ? "unknown peer name" : "wrong token");
        c->closing = true; /* the answer goes out, then the connection closes */
        client_send_error(p, c, "forbidden", "unknown peer or wrong cluster token");
        return;
    }
    c->peer = index + 1;
}

/* Peer traffic must come from the peer it claims to be, over a connection that said
 * hello (always required when a token is set). */
static bool peer_traffic_allowed(struct peer *p, struct conn *c, struct json_object *obj)
{
    if (c->peer == 0) {
        if (!p->cfg.token[0])
            return true;
        client_send_error(p, c, "forbidden", "peer messages need a hello with the cluster token");
        return false;
    }
    const char *from;
    size_t len;
    char err[64];
    if (json_get_string(obj, "from", &from, &len, err, sizeof(err)) != 0 ||
        config_find_peer(&p->cfg, from) + 1 != c->peer) {
        client_send_error(p, c, "forbidden", "\"from\" is not the peer that said hello");
        return false;
    }
    return true;
}

/* A cut made through a control message (fault_control.c) drops what its peer sends us,
 * whether or not that peer heard of the cut. Peer traffic only: clients pass. */
static bool cut_drops_incoming(struct peer *p, struct conn *c, struct json_object *obj)
{
    raft_id from = c->peer;
    if (!from) {
        const char *name;
        size_t len;
        char err[64];
        if (json_get_string(obj, "from", &name, &len, err, sizeof(err)) == 0)
            from = config_find_peer(&p->cfg, name) + 1;
    }
    if (!net_faults_drops_from(&p->faults, from))
        return false;
    p->faults.dropped_in++;
    return true;
}

static void handle_rpc(struct peer *p, struct conn *c, struct json_object *obj)
{
    struct raft_message m;
    char err[256];
    if (rpc_decode(obj, p->names, p->n, &m, p->entry_space, RPC_MAX_ENTRIES, err, sizeof(err)) !=
        0) {
        event_log_write(p->log, EVENT_LOG_WARN, "bad RPC from %s: %s", c->addr, err);
        client_send_error(p, c, "bad_request", err);
        return;
    }
    if (m.to != p->self) {
        client_send_error(p, c, "bad_request", "RPC addressed to another peer");
        return;
    }
    if (m.type == RAFT_MSG_APPEND_ENTRIES &&
        m.u.append_entries.leader_commit > p->leader_commit_heard)
        p->leader_commit_heard = m.u.append_entries.leader_commit;
    int rc = raft_step(p->raft, &m, el_now_ms());
    if (rc == RAFT_ENOMEM)
        event_log_write(p->log, EVENT_LOG_ERROR, "out of memory handling %s",
                        raft_message_type_name(m.type));
}

/* Control messages need -v, and the cluster token when one is set. Without a token only
 * a loopback client may send them; with one, any host that knows it may (a classroom's
 * projector and teacher's laptop, docs/CLASSROOM.md), as peers do. */
static bool control_allowed(struct peer *p, struct conn *c, struct json_object *obj)
{
    if (!p->visual || !token_ok(p, obj))
        return false;
    return c->loopback || p->cfg.token[0] != '\0';
}

void control_respond(struct peer *p, struct conn *c, bool ok, const char *message,
                     void (*add_state)(const struct peer *p, struct json_object *o))
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "type", json_object_new_string("control_response"));
    json_object_object_add(o, "ok", json_object_new_boolean(ok));
    if (!ok)
        json_object_object_add(o, "error", json_object_new_string("bad_request"));
    json_object_object_add(o, "message", json_object_new_string(message));
    json_object_object_add(o, "peer", json_object_new_string(p->names[p->self - 1]));
    if (ok)
        add_state(p, o);
    conn_send_json(p, c, o);
}

static void handle_control(struct peer *p, struct conn *c, struct json_object *obj)
{
    char out[512];
    if (!control_allowed(p, c, obj)) {
        int n = snprintf(out, sizeof(out),
                         "{\"type\":\"control_response\",\"ok\":false,\"error\":\"forbidden\","
                         "\"message\":\"control messages are accepted only by a peer started "
                         "with -v, with the cluster token if one is set, and without a token "
                         "only from a loopback address\"}\n");
        conn_send(p, c, out, (size_t)n);
        return;
    }
    struct json_object *action;
    const char *a = json_object_object_get_ex(obj, "action", &action) &&
                            json_object_is_type(action, json_type_string)
                        ? json_object_get_string(action)
                        : "";
    if (!strcmp(a, "crash")) {
        /* As after a power cut: nothing is flushed, nothing is said. */
        event_log_write(p->log, EVENT_LOG_WARN, "killed by the game (control: crash)");
        _exit(137);
    }
    if (!strcmp(a, "transfer")) {
        client_handle_transfer(p, c, obj, true);
        return;
    }
    if (net_faults_is_action(a)) {
        faults_handle_control(p, c, obj, a);
        return;
    }
    if (!strcmp(a, "pace")) {
        pace_handle_control(p, c, obj);
        return;
    }
    int n = snprintf(out, sizeof(out),
                     "{\"type\":\"control_response\",\"ok\":false,\"error\":\"bad_request\","
                     "\"message\":\"unknown control action; expected crash, transfer, partition, "
                     "isolate, cut, heal, delay or pace\"}\n");
    conn_send(p, c, out, (size_t)n);
}

static void handle_line(struct peer *p, struct conn *c, const char *line, size_t len)
{
    struct json_object *obj = NULL;
    char err[256];
    /* Only a peer that said hello may send the long lines replication needs; anyone
     * else is held to the client limit before json-c builds anything. */
    size_t max = c->peer ? RPC_LINE_MAX : CLIENT_LINE_MAX;
    if (json_line_parse(line, len, max, &obj, err, sizeof(err)) != 0) {
        client_send_error(p, c, "bad_request", err);
        return;
    }
    struct json_object *t;
    if (!json_object_object_get_ex(obj, "type", &t) || !json_object_is_type(t, json_type_string)) {
        client_send_error(p, c, "bad_request", "missing string field \"type\"");
        json_object_put(obj);
        return;
    }
    const char *type = json_object_get_string(t);
    if (!strcmp(type, "hello")) {
        handle_hello(p, c, obj);
    } else if (is_rpc_type(type) || !strncmp(type, "install_snapshot", 16)) {
        if (!peer_traffic_allowed(p, c, obj) || cut_drops_incoming(p, c, obj))
            ;
        else if (is_rpc_type(type))
            handle_rpc(p, c, obj);
        else if (!strcmp(type, "install_snapshot"))
            snapshot_handle_chunk(p, obj);
        else if (!strcmp(type, "install_snapshot_result"))
            snapshot_handle_result(p, obj);
        else
            client_send_error(p, c, "bad_request", "unknown type");
    } else if (len > CLIENT_LINE_MAX) {
        client_send_error(p, c, "bad_request", "line longer than 65536 bytes");
    } else if (!strcmp(type, "client_request")) {
        client_handle_request(p, c, obj);
    } else if (!strcmp(type, "status")) {
        status_send(p, c);
    } else if (!strcmp(type, "transfer")) {
        client_handle_transfer(p, c, obj, false);
    } else if (!strcmp(type, "membership")) {
        membership_handle_request(p, c, obj);
    } else if (!strcmp(type, "control")) {
        handle_control(p, c, obj);
    } else {
        client_send_error(p, c, "bad_request",
                          "unknown type; expected client_request, status, transfer, membership or "
                          "control");
    }
    json_object_put(obj);
}

/* Reads what is there and handles every whole line. Returns -1 if c is closed. */
static int conn_read(struct peer *p, struct conn *c)
{
    for (int rounds = 0; rounds < 16; rounds++) {
        if (buffer_reserve(&c->in, READ_CHUNK) != 0) {
            conn_close(p, c);
            return -1;
        }
        ssize_t n = read(c->fd, buffer_tail(&c->in), buffer_space(&c->in));
        if (n == 0) {
            conn_close(p, c);
            return -1;
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            conn_close(p, c);
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
            handle_line(p, c, start, len);
            if (c->closed)
                return -1;
            buffer_consume(&c->in, len + 1);
            if (c->closing)
                return conn_flush(p, c);
        }
        if (buffer_len(&c->in) == 0)
            c->partial_since_ms = 0;
        if (buffer_len(&c->in) > (c->peer ? RPC_LINE_MAX : CLIENT_LINE_MAX)) {
            c->closing = true;
            client_send_error(p, c, "bad_request", "line too long; closing the connection");
            conn_close(p, c); /* whether or not the answer got out: the rest is not read */
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
    struct peer *p = data;
    struct conn_table *t = &p->conns;
    struct conn *c = fd < t->cap ? t->by_fd[fd] : NULL;
    if (!c)
        return;
    if ((mask & EL_READABLE) && conn_read(p, c) != 0)
        return;
    if (mask & EL_WRITABLE)
        conn_flush(p, c);
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
static bool evict_idlest(struct peer *p)
{
    struct conn_table *t = &p->conns;
    struct conn *idlest = NULL;
    uint64_t newest[CONFIG_MAX_PEERS + 1] = {0};
    for (int fd = 0; fd < t->cap; fd++) {
        struct conn *c = t->by_fd[fd];
        if (c && c->peer && c->id > newest[c->peer])
            newest[c->peer] = c->id;
    }
    for (int fd = 0; fd < t->cap; fd++) {
        struct conn *c = t->by_fd[fd];
        if (c && (!c->peer || c->id != newest[c->peer]) &&
            (!idlest || c->last_line_ms < idlest->last_line_ms ||
             (c->last_line_ms == idlest->last_line_ms && c->id < idlest->id)))
            idlest = c; /* the same ms: the older connection (fds are reused, ids never) */
    }
    if (!idlest)
        return false;
    conn_close(p, idlest);
    t->evicted++;
    return true;
}

static void on_accept(struct event_loop *el, int lfd, void *data, int mask);

static int64_t on_accept_resume(struct event_loop *el, int64_t id, void *data)
{
    (void)id;
    struct peer *p = data;
    p->conns.accept_paused = false;
    el_add_file(el, p->conns.listen_fd, EL_READABLE, on_accept, p);
    return -1;
}

/* accept() failed for want of fds (EMFILE, ENFILE) or memory: the listening socket stays
 * readable, so without a pause the loop would spin on it. Evicting the idlest client
 * frees an fd; with nobody to evict, stop listening for a moment. */
static void accept_starved(struct peer *p)
{
    if (evict_idlest(p))
        return;
    el_del_file(p->el, p->conns.listen_fd, EL_READABLE);
    p->conns.accept_paused = true;
    el_add_timer(p->el, 100, on_accept_resume, p);
}

static void on_accept(struct event_loop *el, int lfd, void *data, int mask)
{
    (void)mask;
    struct peer *p = data;
    struct conn_table *t = &p->conns;
    for (int i = 0; i < 64 && !t->accept_paused; i++) {
        char ip[64], err[160];
        int port = 0;
        int fd = tcp_accept(err, sizeof(err), lfd, ip, sizeof(ip), &port);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                accept_starved(p);
            return;
        }
        if (t->n >= PEER_MAX_CONNS && !evict_idlest(p)) {
            close(fd); /* bounded memory: each connection may buffer a line */
            continue;
        }
        struct conn *c = calloc(1, sizeof(*c));
        if (!c || conns_track(t, (c->fd = fd, c)) != 0) {
            free(c);
            close(fd);
            continue;
        }
        c->id = ++t->next_id;
        c->last_line_ms = el_now_ms();
        buffer_init(&c->in);
        buffer_init(&c->out);
        if (el_add_file(el, fd, EL_READABLE, on_conn_event, p) != 0) {
            conn_close(p, c);
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
    struct peer *p = data;
    struct conn_table *t = &p->conns;
    uint64_t now = el_now_ms();
    for (int fd = 0; fd < t->cap; fd++) {
        struct conn *c = t->by_fd[fd];
        uint64_t limit = c && c->peer ? CONN_PEER_LINE_MS : CONN_CLIENT_LINE_MS;
        if (c && c->partial_since_ms && now - c->partial_since_ms > limit) {
            conn_close(p, c);
            t->line_timeouts++;
        }
    }
    if ((t->evicted || t->line_timeouts) && now - t->last_report_ms >= 10000) {
        event_log_write(p->log, EVENT_LOG_WARN,
                        "connections: closed %llu holding half a line for over %d s, evicted "
                        "%llu idle ones to make room (%d open, at most %d)",
                        (unsigned long long)t->line_timeouts, CONN_CLIENT_LINE_MS / 1000,
                        (unsigned long long)t->evicted, t->n, PEER_MAX_CONNS);
        t->evicted = t->line_timeouts = 0;
        t->last_report_ms = now;
    }
    return 1000;
}

void conns_init(struct peer *p)
{
    memset(&p->conns, 0, sizeof(p->conns));
    p->conns.listen_fd = -1;
    p->conns.sweep_timer = -1;
}

int conns_listen(struct peer *p, char *err, size_t errlen)
{
    struct conn_table *t = &p->conns;
    const struct config_peer *me = &p->cfg.peers[p->self - 1];
    t->listen_fd = tcp_listen(err, errlen, me->host, me->port, 511);
    if (t->listen_fd < 0)
        return -1;
    if (el_add_file(p->el, t->listen_fd, EL_READABLE, on_accept, p) != 0) {
        snprintf(err, errlen, "cannot watch the listening socket");
        return -1;
    }
    t->sweep_timer = el_add_timer(p->el, 1000, on_sweep, p);
    if (t->sweep_timer < 0) {
        snprintf(err, errlen, "out of memory for the connection sweep timer");
        return -1;
    }
    return 0;
}

void conns_free(struct peer *p)
{
    struct conn_table *t = &p->conns;
    for (int fd = 0; fd < t->cap; fd++)
        if (t->by_fd[fd])
            conn_close(p, t->by_fd[fd]);
    conns_reap(p);
    free(t->by_fd);
    t->by_fd = NULL;
    t->cap = 0;
    if (t->listen_fd >= 0)
        close(t->listen_fd);
    t->listen_fd = -1;
}
