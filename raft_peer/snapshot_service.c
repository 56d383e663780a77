/* snapshot_service.c: log compaction for the daemon (§7 and Figure 13). Every peer
 * snapshots its state machine once snapshot_threshold entries (or snapshot_threshold_bytes
 * of entry payload) were applied since the last one, in a forked child so that the event
 * loop never waits for it (snapshot_child.c), and drops the covered log; a leader whose follower
 * needs compacted entries streams the snapshot to it in chunks (install_snapshot /
 * install_snapshot_result, docs/PROTOCOL.md), one chunk in flight, and the follower writes them to
 * a partial file that survives a crash, so a transfer resumes where it stopped. */
#include <stdlib.h>

#include "common/client_protocol.h"
#include "common/error_message.h"
#include "common/event_log.h"
#include "raft_peer/net/event_loop.h"
#include "raft_peer/net/rpc_codec.h"
#include "raft_peer/peer.h"
#include "raft_peer/sm/state_machine.h"
#include "raft_peer/snapshot_install.h"
#include "raft_peer/snapshot_internal.h"
#include "raft_peer/snapshot_service.h"
#include "raft_peer/storage/boot_config.h"
#include "raft_peer/storage/snapshot_store.h"

#define CHUNK_RESEND_MS 2000 /* an unanswered chunk is sent again */

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
    snapshot_child_remove_leftovers(p);
    return 0;
}

/* An encoded line to a follower or the leader, through the peer links (delay and cuts
 * included). */
static void send_encoded(struct peer *p, raft_id to, struct buffer *line, int rc)
{
    if (rc == 0)
        outbox_send_line(p, to, buffer_peek(line), buffer_len(line));
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
    snapshot_child_poll(p); /* in case the pipe's end of file came before the exit */
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
        /* The file is now our snapshot: one of our own, still being written or yet to
         * come, is older and must not replace it. */
        snapshot_child_supersede(p);
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
        if (snapshot_receiver_seal(s->receiver, s->err, sizeof(s->err)) != 0) {
            event_log_write(p->log, EVENT_LOG_ERROR, "received snapshot is bad: %s", s->err);
            snapshot_receiver_close(s->receiver);
            s->receiver = NULL;
            reply_failed(p, leader, index, size);
            return;
        }
        /* Sealed but not yet ours: the install reads it, and commits it only if it can
         * start from it (snapshot_install.c says in which order). */
        struct snapshot_meta m = {.index = index, .term = last_term, .size = size, .crc = crc};
        struct snapshot_receiver *sealed = s->receiver;
        s->receiver = NULL;
        s->installing = snapshot_install_start(p, leader, term, &m, sealed, on_install_done, p);
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
    snapshot_child_stop(p);
    snapshot_abort_sends(p);
    snapshot_install_cancel(s->installing);
    snapshot_receiver_close(s->receiver);
    free(s);
    p->snapshots = NULL;
}
