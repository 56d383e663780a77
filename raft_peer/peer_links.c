/* peer_links.c: our outbound TCP connection to each other peer. Every RPC we send to a
 * peer travels on it; its answers come back on the connection it opened to us. A peer
 * that cannot be reached is retried with exponential backoff and logged once when it
 * goes and once when it comes back. Raft tolerates lost messages, so a message for a
 * peer that is down is dropped rather than queued without bound. A follower that is up
 * but has not answered for an election timeout (a stopped process, whose kernel still
 * accepts bytes until its buffers fill) has what is queued for it dropped, and from
 * then on is queued no more than a probe; the core is told (raft_peer_unreachable), so
 * it resends from matchIndex + 1 once the follower answers. Only whole messages not yet
 * begun on the wire are dropped: the follower never reads half a line. The network
 * faults act before a message reaches the links (outbox.c): a link carries what it is
 * given. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/event_log.h"
#include "common/net.h"
#include "raft_peer/net/event_loop.h"
#include "raft_peer/net/fd_flush.h"
#include "raft_peer/net/rpc_codec.h"
#include "raft_peer/peer.h"
#include "raft_peer/peer_links.h"

#define BACKOFF_MIN_MS   20
#define BACKOFF_MAX_MS   1000
#define STARTUP_QUIET_MS 3000

/* Our outbound connection to another peer; every message we send it goes here. */
struct peer_link {
    int fd;
    bool connecting;
    bool connected;
    bool down_reported; /* "unreachable" was logged; log "reachable again" next time */
    bool ever_connected;
    bool lost_unreported;   /* the connection dropped; the core has not been told yet */
    bool at_frame_start;    /* out starts with a whole message: nothing of it written yet */
    bool silent;            /* leader: the core says it has not answered for an election timeout */
    bool drops_unreported;  /* messages for it were dropped unsent; the core not told yet */
    uint64_t dropped_bytes; /* queued bytes given up since start, for status */
    uint64_t next_attempt_ms;
    uint64_t backoff_ms;
    struct buffer out;
};

struct peer_links {
    struct peer_link link[CONFIG_MAX_PEERS + 1]; /* by peer id */
    links_silent_fn *on_silent_drops;
    char err[256]; /* why a connection failed, for the log line that says so */
};

static void on_link_event(struct event_loop *el, int fd, void *data, int mask);

static void link_close(struct peer *p, raft_id id, const char *why)
{
    struct peer_link *l = &p->links->link[id];
    if (l->fd >= 0) {
        el_del_file(p->el, l->fd, EL_READABLE | EL_WRITABLE);
        close(l->fd);
    }
    bool was_up = l->connected;
    /* Fast failover when the leader died, but told to the core later: a send failing
     * here may be one of a ready's messages, which a core call now would free under the
     * loop still sending them (valgrind caught that use after free). */
    if (was_up)
        l->lost_unreported = true;
    if (buffer_len(&l->out) > 0)
        l->drops_unreported = true; /* what was queued never left: the core must not count it */
    l->fd = -1;
    l->connected = false;
    l->connecting = false;
    buffer_free(&l->out);
    l->at_frame_start = true;
    uint64_t now = el_now_ms();
    l->next_attempt_ms = now + l->backoff_ms;
    l->backoff_ms = l->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : l->backoff_ms * 2;
    /* At start-up the others are often still starting: not worth a warning yet. */
    bool starting = !l->ever_connected && now < p->started_ms + STARTUP_QUIET_MS;
    if (!l->down_reported && !starting) {
        l->down_reported = true;
        event_log_write(p->log, EVENT_LOG_WARN, "%s is unreachable (%s); retrying with backoff",
                        p->names[id - 1], why);
    } else if (was_up) {
        event_log_write(p->log, EVENT_LOG_DEBUG, "lost connection to %s (%s)", p->names[id - 1],
                        why);
    }
}

static void link_flush(struct peer *p, raft_id id)
{
    struct peer_link *l = &p->links->link[id];
    int last = -1;
    int rc = fd_flush(p->el, l->fd, &l->out, on_link_event, p, &last);
    if (last >= 0)
        l->at_frame_start = last == '\n';
    if (rc < 0)
        link_close(p, id, errno ? strerror(errno) : "write returned 0");
}

static void link_connected(struct peer *p, raft_id id)
{
    struct peer_link *l = &p->links->link[id];
    l->connecting = false;
    l->connected = true;
    l->ever_connected = true;
    l->backoff_ms = BACKOFF_MIN_MS;
    set_nodelay(p->links->err, sizeof(p->links->err), l->fd);
    if (l->down_reported) {
        l->down_reported = false;
        event_log_write(p->log, EVENT_LOG_INFO, "%s is reachable again", p->names[id - 1]);
    } else {
        event_log_write(p->log, EVENT_LOG_DEBUG, "connected to %s", p->names[id - 1]);
    }
}

static void on_link_event(struct event_loop *el, int fd, void *data, int mask)
{
    (void)el;
    struct peer *p = data;
    raft_id id = 0;
    for (raft_id i = 1; i <= p->n; i++)
        if (p->links->link[i].fd == fd)
            id = i;
    if (!id)
        return;
    struct peer_link *l = &p->links->link[id];
    if (l->connecting && (mask & EL_WRITABLE)) {
        if (tcp_connect_finish(p->links->err, sizeof(p->links->err), fd) != 0) {
            link_close(p, id, p->links->err);
            return;
        }
        link_connected(p, id);
    }
    if (mask & EL_READABLE) {
        /* The other side never writes on this connection: readable means closed. */
        char scratch[512];
        ssize_t n = read(fd, scratch, sizeof(scratch));
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            link_close(p, id, n == 0 ? "connection closed" : strerror(errno));
            return;
        }
    }
    if (l->connected)
        link_flush(p, id);
}

static void link_connect(struct peer *p, raft_id id)
{
    struct peer_link *l = &p->links->link[id];
    const struct config_peer *cp = &p->cfg.peers[id - 1];
    int fd = tcp_connect_nonblock(p->links->err, sizeof(p->links->err), cp->host, cp->port);
    if (fd < 0) {
        l->fd = -1;
        link_close(p, id, p->links->err);
        return;
    }
    l->fd = fd;
    l->connecting = true;
    /* Say who we are first; every message queued after this follows it. */
    buffer_appendf(&l->out, "{\"type\":\"hello\",\"from\":\"%s\",\"token\":\"%s\"}\n",
                   p->names[p->self - 1], p->cfg.token);
    if (el_add_file(p->el, fd, EL_READABLE | EL_WRITABLE, on_link_event, p) != 0)
        link_close(p, id, "event loop full");
}

/* Peers we keep a connection to without being asked: those of our configuration (and
 * of the previous one while a change is pending, as the core may still write to them).
 * Others of the address book get one only when there is something to send them. */
static bool link_wanted(const struct peer *p, raft_id id)
{
    return raft_configuration_is_member(raft_configuration(p->raft), id) ||
           p->links->link[id].fd >= 0;
}

int links_init(struct peer *p, links_silent_fn *on_silent_drops)
{
    p->links = calloc(1, sizeof(*p->links));
    if (!p->links)
        return -1;
    p->links->on_silent_drops = on_silent_drops;
    for (raft_id id = 1; id <= p->n; id++) {
        struct peer_link *l = &p->links->link[id];
        memset(l, 0, sizeof(*l));
        l->fd = -1;
        l->backoff_ms = BACKOFF_MIN_MS;
        l->at_frame_start = true;
        buffer_init(&l->out);
        if (id != p->self && link_wanted(p, id))
            link_connect(p, id);
    }
    return 0;
}

/* Drops the whole messages queued on l that no byte of has been written yet, and
 * gives their memory back. A message partly written stays, and so does the hello of a
 * connection still being made: the peer must never read half a line, nor a line
 * without its hello. Returns the bytes dropped. */
static size_t link_drop_unsent(struct peer_link *l)
{
    size_t len = buffer_len(&l->out), keep = 0;
    if (!l->at_frame_start || !l->connected) {
        const char *nl = memchr(buffer_peek(&l->out), '\n', len);
        keep = nl ? (size_t)(nl - buffer_peek(&l->out)) + 1 : len;
    }
    if (keep == len)
        return 0;
    struct buffer kept;
    buffer_init(&kept);
    if (keep > 0 && buffer_append(&kept, buffer_peek(&l->out), keep) != 0) {
        buffer_truncate(&l->out, keep); /* no memory for a small copy: keep the block */
    } else {
        buffer_free(&l->out);
        l->out = kept;
    }
    l->dropped_bytes += len - keep;
    return len - keep;
}

/* Leader: follows the core's word on whether follower id is silent. On the way into
 * silence its queue goes, and the core hears that nothing queued was delivered. */
static void link_check_silent(struct peer *p, raft_id id)
{
    struct peer_link *l = &p->links->link[id];
    bool silent = raft_follower_silent(p->raft, id);
    if (silent == l->silent)
        return;
    l->silent = silent;
    if (!silent)
        return;
    size_t dropped = link_drop_unsent(l);
    l->drops_unreported = true;
    event_log_write(p->log, EVENT_LOG_INFO,
                    "%s is silent: dropped %zu queued bytes; only probes until it answers",
                    p->names[id - 1], dropped);
}

/* The most we queue for a peer: a probe's worth once it has gone silent. */
static size_t link_queue_max(const struct peer_link *l)
{
    return l->silent ? PEER_LINK_SILENT_MAX : PEER_LINK_QUEUE_MAX;
}

/* Retries links that are due and notices silent followers; called every heartbeat
 * interval. */
void links_maintain(struct peer *p)
{
    uint64_t now = el_now_ms();
    for (raft_id id = 1; id <= p->n; id++) {
        struct peer_link *l = &p->links->link[id];
        if (id == p->self)
            continue;
        link_check_silent(p, id);
        if (l->fd < 0 && now >= l->next_attempt_ms && link_wanted(p, id))
            link_connect(p, id);
    }
}

/* The link to a peer, connecting it when a retry is due; NULL while it is down. */
static struct peer_link *link_for_send(struct peer *p, raft_id to)
{
    struct peer_link *l = &p->links->link[to];
    if (l->fd < 0 && el_now_ms() >= l->next_attempt_ms)
        link_connect(p, to);
    return l->fd < 0 ? NULL : l;
}

static bool link_valid(const struct peer *p, raft_id to)
{
    return to >= 1 && to <= p->n && to != p->self;
}

void links_send(struct peer *p, const struct raft_message *m)
{
    if (!link_valid(p, m->to))
        return;
    link_check_silent(p, m->to);
    struct peer_link *l = link_for_send(p, m->to);
    if (!l)
        return;
    if (buffer_len(&l->out) >= link_queue_max(l)) {
        /* Silent, or not keeping up: drop, and let the core resend from what matched. */
        l->drops_unreported = true;
        return;
    }
    if (rpc_encode(m, p->names, p->n, &l->out) != 0) {
        event_log_write(p->log, EVENT_LOG_ERROR, "cannot encode %s for %s",
                        raft_message_type_name(m->type), p->names[m->to - 1]);
        return;
    }
    if (l->connected)
        link_flush(p, m->to);
}

/* Every lost link is reported; the core acts only on its current leader's
 * (raft_peer_disconnected), so a follower losing another follower keeps its lease.
 * Messages dropped unsent are reported too (raft_peer_unreachable): a leader then
 * counts nothing past the follower's matchIndex as delivered. */
void links_report_lost(struct peer *p)
{
    for (raft_id id = 1; id <= p->n; id++) {
        struct peer_link *l = &p->links->link[id];
        if (l->lost_unreported) {
            l->lost_unreported = false;
            raft_peer_disconnected(p->raft, id);
        }
        if (l->drops_unreported) {
            l->drops_unreported = false;
            if (l->silent && p->links->on_silent_drops)
                p->links->on_silent_drops(p, id);
            raft_peer_unreachable(p->raft, id);
        }
    }
}

void links_free(struct peer *p)
{
    if (!p->links)
        return;
    for (raft_id id = 1; id <= p->n; id++) {
        struct peer_link *l = &p->links->link[id];
        if (l->fd >= 0)
            close(l->fd);
        buffer_free(&l->out);
    }
    free(p->links);
    p->links = NULL;
}

struct link_stats links_stats(const struct peer *p, raft_id id)
{
    struct link_stats s = {0};
    if (p->links && id >= 1 && id <= p->n) {
        const struct peer_link *l = &p->links->link[id];
        s.silent = l->silent;
        s.queued_bytes = buffer_len(&l->out);
        s.dropped_bytes = l->dropped_bytes;
    }
    return s;
}

/* Queues an encoded line on l and writes what it can; with no link (NULL: the peer is
 * down) or a full queue the line is dropped, as any message for a peer that is down. A
 * snapshot chunk dropped here is sent again when its answer does not come. */
static void link_write_line(struct peer *p, raft_id to, struct peer_link *l, const char *line,
                            size_t len)
{
    link_check_silent(p, to);
    if (!l || buffer_len(&l->out) >= link_queue_max(l))
        return;
    if (buffer_append(&l->out, line, len) != 0)
        return;
    if (l->connected)
        link_flush(p, to);
}

void links_send_line(struct peer *p, raft_id to, const char *line, size_t len)
{
    if (!link_valid(p, to))
        return;
    struct peer_link *l = &p->links->link[to];
    link_write_line(p, to, l->fd < 0 ? NULL : l, line, len);
}

void links_send_now(struct peer *p, raft_id to, const char *line, size_t len)
{
    if (!link_valid(p, to))
        return;
    link_write_line(p, to, link_for_send(p, to), line, len);
}
