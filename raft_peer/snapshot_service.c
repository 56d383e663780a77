/* snapshot_service.c: log compaction for the daemon (§7 and Figure 13). Every peer
 * snapshots its state machine once its log passes snapshot_threshold entries and drops
 * the covered log; a leader whose follower needs compacted entries streams the snapshot
 * to it in chunks (install_snapshot / install_snapshot_result, docs/PROTOCOL.md), one
 * chunk in flight, and the follower writes them to a partial file that survives a crash,
 * so a transfer resumes where it stopped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "common/base64.h"
#include "common/client_protocol.h"
#include "raft_peer/event_log.h"
#include "raft_peer/peer.h"
#include "raft_peer/snapshot_store.h"
#include "raft_peer/state_machine.h"
#include "raft_peer/storage.h"

#define CHUNK_BYTES      (64u << 10)
#define CHUNK_RESEND_MS  2000 /* an unanswered chunk is sent again */
#define TRAILING_ENTRIES 1000 /* kept after a snapshot so slightly slow followers need none */

/* Boot order: the snapshot first, so the log can be opened after it. */
int snapshot_boot(struct peer *p, char *err, size_t errlen)
{
    struct snapshot_meta m;
    uint8_t *data = NULL;
    if (snapshot_load(p->data_dir, &m, &data, err, errlen) != 0)
        return -1;
    if (m.index > 0) {
        int rc = sm_snapshot_decode(p->sm, data, m.size, err, errlen);
        free(data);
        if (rc != 0)
            return -1;
        if (sm_last_applied(p->sm) != m.index) {
            snprintf(err, errlen, "%s/snapshot: covers index %llu but its state machine is at %llu",
                     p->data_dir, (unsigned long long)m.index,
                     (unsigned long long)sm_last_applied(p->sm));
            return -1;
        }
    }
    p->snapshot_index = m.index;
    p->snapshot_term = m.term;
    p->snapshot_size = m.size;
    p->snapshot_crc = m.crc;
    return 0;
}

static void snapshot_loaded_from_disk(struct peer *p)
{
    struct snapshot_meta m;
    uint8_t *data = NULL;
    if (snapshot_load(p->data_dir, &m, &data, p->err, sizeof(p->err)) == 0) {
        p->snapshot_index = m.index;
        p->snapshot_term = m.term;
        p->snapshot_size = m.size;
        p->snapshot_crc = m.crc;
    }
    free(data);
}

/* §7: "Servers take snapshots when the log reaches a fixed size in bytes"; here, in
 * entries applied since the last snapshot. */
void snapshot_maybe_take(struct peer *p)
{
    uint64_t applied = sm_last_applied(p->sm);
    if (p->stopped || applied < p->snapshot_index + p->cfg.snapshot_threshold ||
        applied > raft_persisted_index(p->raft))
        return;
    raft_term term = raft_term_at(p->raft, applied);
    uint8_t *data = NULL;
    size_t len = 0;
    if (term == 0 || sm_snapshot_encode(p->sm, &data, &len) != 0) {
        event_log_write(p->log, EVENT_LOG_ERROR, "cannot encode a snapshot at index %llu",
                        (unsigned long long)applied);
        free(data);
        return;
    }
    if (snapshot_save(p->data_dir, applied, term, data, len, p->err, sizeof(p->err)) != 0) {
        free(data);
        event_log_write(p->log, EVENT_LOG_ERROR, "cannot save a snapshot: %s", p->err);
        return; /* the log stays whole: nothing is lost, only compaction is late */
    }
    free(data);
    snapshot_loaded_from_disk(p);
    uint64_t trailing = p->cfg.snapshot_threshold / 2;
    if (trailing > TRAILING_ENTRIES)
        trailing = TRAILING_ENTRIES;
    raft_index upto = applied > trailing ? applied - trailing : 0;
    if (upto > raft_snapshot_index(p->raft)) {
        raft_term upto_term = raft_term_at(p->raft, upto);
        if (raft_compact(p->raft, upto) == RAFT_OK &&
            storage_compact(p->storage, upto, upto_term, p->err, sizeof(p->err)) != 0) {
            event_log_write(p->log, EVENT_LOG_ERROR, "cannot compact the log: %s", p->err);
        }
    }
    event_log_write(p->log, EVENT_LOG_INFO,
                    "snapshot at index %llu (term %llu, %zu bytes); log kept from index %llu",
                    (unsigned long long)applied, (unsigned long long)term, len,
                    (unsigned long long)raft_first_index(p->raft));
}

static void send_json_line(struct peer *p, raft_id to, struct json_object *o)
{
    size_t len;
    const char *s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
    char *line = malloc(len + 1);
    if (line) {
        memcpy(line, s, len);
        line[len] = '\n';
        links_send_line(p, to, line, len + 1);
        free(line);
    }
    json_object_put(o);
}

static void send_end(struct peer *p, raft_id to)
{
    struct snapshot_send *t = &p->sends[to];
    free(t->data);
    t->data = NULL;
    t->active = false;
}

static void send_chunk(struct peer *p, raft_id to)
{
    struct snapshot_send *t = &p->sends[to];
    uint64_t left = t->size - t->offset;
    size_t want = left < CHUNK_BYTES ? (size_t)left : CHUNK_BYTES;
    char *coded = malloc(base64_encoded_len(want) + 1);
    if (!coded) {
        raft_index index = t->index;
        send_end(p, to);
        raft_snapshot_sent(p->raft, to, index, false);
        return;
    }
    const uint8_t *raw = t->data + t->offset;
    base64_encode(raw, want, coded);
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "type", json_object_new_string("install_snapshot"));
    json_object_object_add(o, "term", json_object_new_uint64(raft_current_term(p->raft)));
    json_object_object_add(o, "leader_id", json_object_new_string(p->names[p->self - 1]));
    json_object_object_add(o, "from", json_object_new_string(p->names[p->self - 1]));
    json_object_object_add(o, "to", json_object_new_string(p->names[to - 1]));
    json_object_object_add(o, "last_included_index", json_object_new_uint64(t->index));
    json_object_object_add(o, "last_included_term", json_object_new_uint64(t->term));
    json_object_object_add(o, "size", json_object_new_uint64(t->size));
    json_object_object_add(o, "crc", json_object_new_uint64(t->crc));
    json_object_object_add(o, "offset", json_object_new_uint64(t->offset));
    json_object_object_add(o, "data", json_object_new_string(coded));
    json_object_object_add(o, "done", json_object_new_boolean(t->offset + want == t->size));
    free(coded);
    t->sent_ms = peer_now();
    send_json_line(p, to, o);
}

void snapshot_start_sends(struct peer *p, const struct raft_snapshot_request *reqs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct raft_snapshot_request *req = &reqs[i];
        raft_id to = req->to;
        if (to < 1 || to > p->n || p->sends[to].active)
            continue;
        if (p->snapshot_index < req->index) {
            /* Cannot happen: we only compact what a snapshot covers. Say so, and retry. */
            event_log_write(p->log, EVENT_LOG_ERROR,
                            "%s needs a snapshot at %llu but ours is at %llu", p->names[to - 1],
                            (unsigned long long)req->index, (unsigned long long)p->snapshot_index);
            raft_snapshot_sent(p->raft, to, req->index, false);
            continue;
        }
        struct snapshot_meta m;
        uint8_t *data = NULL;
        if (snapshot_load(p->data_dir, &m, &data, p->err, sizeof(p->err)) != 0 ||
            m.index < req->index) {
            event_log_write(p->log, EVENT_LOG_ERROR, "cannot read our snapshot for %s: %s",
                            p->names[to - 1], p->err);
            free(data);
            raft_snapshot_sent(p->raft, to, req->index, false);
            continue;
        }
        struct snapshot_send *t = &p->sends[to];
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

void snapshot_abort_sends(struct peer *p)
{
    for (raft_id id = 1; id <= p->n; id++)
        send_end(p, id);
}

/* Resends a chunk nobody answered (the connection dropped, or the follower restarted). */
void snapshot_housekeeping(struct peer *p)
{
    uint64_t now = peer_now();
    for (raft_id id = 1; id <= p->n; id++) {
        struct snapshot_send *t = &p->sends[id];
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

static raft_id peer_id(struct peer *p, struct json_object *obj, const char *key)
{
    const char *s;
    size_t len;
    char err[64];
    if (json_get_string(obj, key, &s, &len, err, sizeof(err)) != 0)
        return 0;
    int i = config_find_peer(&p->cfg, s);
    return i >= 0 && i < p->n ? i + 1 : 0;
}

static void reply(struct peer *p, raft_id leader, raft_index index, uint64_t next, bool done)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "type", json_object_new_string("install_snapshot_result"));
    json_object_object_add(o, "term", json_object_new_uint64(raft_current_term(p->raft)));
    json_object_object_add(o, "from", json_object_new_string(p->names[p->self - 1]));
    json_object_object_add(o, "to", json_object_new_string(p->names[leader - 1]));
    json_object_object_add(o, "last_included_index", json_object_new_uint64(index));
    json_object_object_add(o, "next_offset", json_object_new_uint64(next));
    json_object_object_add(o, "done", json_object_new_boolean(done));
    send_json_line(p, leader, o);
}

/* The whole snapshot is durable: load it, and let the core rebuild its log around it. */
static int install(struct peer *p, raft_id leader, raft_term term)
{
    struct snapshot_meta m;
    uint8_t *data = NULL;
    if (snapshot_load(p->data_dir, &m, &data, p->err, sizeof(p->err)) != 0 ||
        m.index != p->receiving_index ||
        sm_snapshot_decode(p->sm, data, m.size, p->err, sizeof(p->err)) != 0) {
        event_log_write(p->log, EVENT_LOG_ERROR, "cannot load the received snapshot: %s", p->err);
        free(data);
        return -1;
    }
    free(data);
    p->snapshot_index = m.index;
    p->snapshot_term = m.term;
    p->snapshot_size = m.size;
    p->snapshot_crc = m.crc;
    raft_install_snapshot(p->raft, leader, term, m.index, m.term, peer_now());
    event_log_write(p->log, EVENT_LOG_INFO,
                    "installed snapshot from %s at index %llu (term %llu, %llu bytes)",
                    p->names[leader - 1], (unsigned long long)m.index, (unsigned long long)m.term,
                    (unsigned long long)m.size);
    return 0;
}

/* A next_offset past the end tells the leader this transfer failed for good: it gives
 * up (raft_snapshot_sent false) and the core asks again at its own pace. */
static void reply_failed(struct peer *p, raft_id leader, raft_index index, uint64_t size)
{
    reply(p, leader, index, size + 1, false);
}

/* Follower side of Figure 13, one chunk at a time. */
void snapshot_handle_chunk(struct peer *p, struct json_object *obj)
{
    char err[256];
    uint64_t term, index, last_term, size, crc, offset;
    bool done;
    const char *data;
    size_t data_len;
    raft_id leader = peer_id(p, obj, "leader_id");
    if (!leader || leader != peer_id(p, obj, "from") || peer_id(p, obj, "to") != p->self ||
        json_get_u64(obj, "term", &term, err, sizeof(err)) ||
        json_get_u64(obj, "last_included_index", &index, err, sizeof(err)) ||
        json_get_u64(obj, "last_included_term", &last_term, err, sizeof(err)) ||
        json_get_u64(obj, "size", &size, err, sizeof(err)) ||
        json_get_u64(obj, "crc", &crc, err, sizeof(err)) || crc > UINT32_MAX ||
        json_get_u64(obj, "offset", &offset, err, sizeof(err)) ||
        json_get_bool(obj, "done", &done, err, sizeof(err)) ||
        json_get_string(obj, "data", &data, &data_len, err, sizeof(err)) ||
        data_len > base64_encoded_len(CHUNK_BYTES)) {
        event_log_write(p->log, EVENT_LOG_WARN, "bad install_snapshot message");
        return;
    }
    int rc = raft_snapshot_chunk(p->raft, leader, term, peer_now());
    if (rc == RAFT_EINVAL) {
        reply(p, leader, index, 0, false); /* our newer term tells it to step down */
        return;
    }
    if (rc != RAFT_OK)
        return; /* stopped: silence, so the leader paces its retries instead of bouncing */
    if (index <= raft_commit_index(p->raft)) {
        reply(p, leader, index, size, true); /* we have all of it already */
        raft_install_snapshot(p->raft, leader, term, index, last_term, peer_now());
        return;
    }
    if (!p->receiver || p->receiving_index != index || p->receiving_term != last_term ||
        p->receiving_size != size || p->receiving_crc != crc) {
        snapshot_receiver_close(p->receiver);
        p->receiver = NULL;
        struct snapshot_meta m = {
            .index = index, .term = last_term, .size = size, .crc = (uint32_t)crc};
        uint64_t have = 0;
        if (snapshot_receiver_open(p->data_dir, &m, &p->receiver, &have, p->err, sizeof(p->err)) !=
            0) {
            event_log_write(p->log, EVENT_LOG_ERROR, "cannot receive a snapshot: %s", p->err);
            return;
        }
        p->receiving_index = index;
        p->receiving_term = last_term;
        p->receiving_size = size;
        p->receiving_crc = (uint32_t)crc;
        p->receiving_have = have;
        event_log_write(p->log, EVENT_LOG_INFO,
                        "receiving snapshot at index %llu from %s (%llu bytes%s)",
                        (unsigned long long)index, p->names[leader - 1], (unsigned long long)size,
                        have ? ", resuming" : "");
    }
    if (offset == p->receiving_have && p->receiving_have < size) {
        uint8_t *raw = malloc(data_len / 4 * 3 + 1);
        long n = raw ? base64_decode(data, data_len, raw) : -1;
        if (n < 0 || offset + (uint64_t)n > size ||
            snapshot_receiver_write(p->receiver, offset, raw, (size_t)n, p->err, sizeof(p->err)) !=
                0) {
            event_log_write(p->log, EVENT_LOG_WARN, "snapshot chunk at %llu refused: %s",
                            (unsigned long long)offset, n < 0 ? "bad base64" : p->err);
            free(raw);
            snapshot_receiver_close(p->receiver);
            p->receiver = NULL;
            reply_failed(p, leader, index, size);
            return;
        }
        free(raw);
        p->receiving_have += (uint64_t)n;
    }
    bool complete = p->receiving_have == size;
    if (complete) {
        if (snapshot_receiver_finish(p->receiver, p->err, sizeof(p->err)) != 0) {
            event_log_write(p->log, EVENT_LOG_ERROR, "received snapshot is bad: %s", p->err);
            snapshot_receiver_close(p->receiver);
            p->receiver = NULL;
            reply_failed(p, leader, index, size);
            return;
        }
        snapshot_receiver_close(p->receiver);
        p->receiver = NULL;
        if (install(p, leader, term) != 0) {
            reply_failed(p, leader, index, size);
            return;
        }
    }
    reply(p, leader, index, p->receiving_have, complete);
}

/* Leader side: the follower says how far it got. */
void snapshot_handle_result(struct peer *p, struct json_object *obj)
{
    char err[128];
    uint64_t term, index, next;
    bool done;
    raft_id from = peer_id(p, obj, "from");
    if (!from || peer_id(p, obj, "to") != p->self ||
        json_get_u64(obj, "term", &term, err, sizeof(err)) ||
        json_get_u64(obj, "last_included_index", &index, err, sizeof(err)) ||
        json_get_u64(obj, "next_offset", &next, err, sizeof(err)) ||
        json_get_bool(obj, "done", &done, err, sizeof(err)))
        return;
    raft_observe_term(p->raft, from, term);
    struct snapshot_send *t = &p->sends[from];
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
    snapshot_abort_sends(p);
    snapshot_receiver_close(p->receiver);
    p->receiver = NULL;
}
