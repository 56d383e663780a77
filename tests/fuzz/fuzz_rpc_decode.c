/* fuzz_rpc_decode.c: libFuzzer target for the peer RPC decoder (raft_peer/net/rpc_codec.h).
 *
 * Bytes -> json_line_parse -> rpc_decode, as a peer's connection does, and the
 * InstallSnapshot decoders beside it. Whatever a decoder accepts must survive its
 * encoder and decode back to the same message: a peer forwards nothing it decoded, but
 * the leader's encoder and every follower's decoder must agree on every message the
 * decoder calls valid. */
#include <json-c/json.h>
#include <stdint.h>
#include <string.h>

#include "common/buffer.h"
#include "common/client_protocol.h"
#include "raft_peer/net/rpc_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[] = {"peer1", "peer2", "peer3", "peer4", "peer5"};
#define N_NAMES 5

/* Two decodes live at once; RPC_MAX_ENTRIES entries each is too much for the stack.
 * Static, because the fuzzer calls us millions of times and reuse costs nothing. */
static struct raft_entry space1[RPC_MAX_ENTRIES];
static struct raft_entry space2[RPC_MAX_ENTRIES];

static int entries_equal(const struct raft_append_entries *a, const struct raft_append_entries *b)
{
    if (a->n_entries != b->n_entries)
        return 0;
    for (uint32_t i = 0; i < a->n_entries; i++) {
        const struct raft_entry *x = &a->entries[i], *y = &b->entries[i];
        if (x->term != y->term || x->type != y->type || x->len != y->len)
            return 0;
        if (x->len > 0 && memcmp(x->data, y->data, x->len) != 0)
            return 0;
    }
    return 1;
}

/* Field by field: the union holds padding and unused members that memcmp would see. */
static int messages_equal(const struct raft_message *a, const struct raft_message *b)
{
    if (a->type != b->type || a->from != b->from || a->to != b->to || a->term != b->term ||
        a->after_persist != b->after_persist)
        return 0;
    switch (a->type) {
    case RAFT_MSG_REQUEST_VOTE: {
        const struct raft_request_vote *x = &a->u.request_vote, *y = &b->u.request_vote;
        return x->last_log_index == y->last_log_index && x->last_log_term == y->last_log_term &&
               x->pre_vote == y->pre_vote && x->leadership_transfer == y->leadership_transfer;
    }
    case RAFT_MSG_REQUEST_VOTE_RESULT: {
        const struct raft_request_vote_result *x = &a->u.request_vote_result,
                                              *y = &b->u.request_vote_result;
        return x->vote_granted == y->vote_granted && x->pre_vote == y->pre_vote;
    }
    case RAFT_MSG_APPEND_ENTRIES: {
        const struct raft_append_entries *x = &a->u.append_entries, *y = &b->u.append_entries;
        return x->prev_log_index == y->prev_log_index && x->prev_log_term == y->prev_log_term &&
               x->leader_commit == y->leader_commit && x->read_round == y->read_round &&
               entries_equal(x, y);
    }
    case RAFT_MSG_APPEND_ENTRIES_RESULT: {
        const struct raft_append_entries_result *x = &a->u.append_entries_result,
                                                *y = &b->u.append_entries_result;
        return x->success == y->success && x->match_index == y->match_index &&
               x->rejected_index == y->rejected_index && x->conflict_term == y->conflict_term &&
               x->conflict_index == y->conflict_index && x->last_log_index == y->last_log_index &&
               x->read_round == y->read_round;
    }
    case RAFT_MSG_TIMEOUT_NOW:
        return a->u.timeout_now.last_log_index == b->u.timeout_now.last_log_index;
    }
    return 0;
}

/* Round trip of an InstallSnapshot chunk and its result; traps on any disagreement. */
static uint8_t chunk1[RPC_SNAPSHOT_CHUNK_MAX], chunk2[RPC_SNAPSHOT_CHUNK_MAX];

static struct json_object *reparse(const struct buffer *out)
{
    struct json_object *obj = NULL;
    char err[256];
    const char *line = buffer_peek(out);
    size_t len = buffer_len(out);
    if (len == 0 || line[len - 1] != '\n' || memchr(line, '\n', len - 1) != NULL ||
        json_line_parse(line, len, RPC_LINE_MAX, &obj, err, sizeof(err)) != 0)
        __builtin_trap();
    return obj;
}

static void snapshot_round_trip(struct json_object *obj)
{
    static const struct rpc_install_snapshot zero_s;
    static const struct rpc_install_snapshot_result zero_r;
    struct rpc_install_snapshot s, s2;
    struct rpc_install_snapshot_result r, r2;
    struct buffer out;
    char err[256];
    buffer_init(&out);
    if (rpc_decode_install_snapshot(obj, names, N_NAMES, &s, chunk1, err, sizeof(err)) == 0) {
        if (s.from < 1 || s.from > N_NAMES || s.to < 1 || s.to > N_NAMES ||
            s.len > RPC_SNAPSHOT_CHUNK_MAX || s.offset + s.len > s.size ||
            rpc_encode_install_snapshot(&s, names, N_NAMES, &out) != 0)
            __builtin_trap();
        struct json_object *obj2 = reparse(&out);
        if (rpc_decode_install_snapshot(obj2, names, N_NAMES, &s2, chunk2, err, sizeof(err)) != 0 ||
            s.term != s2.term || s.from != s2.from || s.to != s2.to ||
            s.last_included_index != s2.last_included_index ||
            s.last_included_term != s2.last_included_term || s.size != s2.size || s.crc != s2.crc ||
            s.offset != s2.offset || s.len != s2.len || s.done != s2.done ||
            (s.len && memcmp(s.data, s2.data, s.len) != 0))
            __builtin_trap();
        json_object_put(obj2);
    } else if (memcmp(&s, &zero_s, sizeof(s)) != 0) {
        __builtin_trap();
    }
    buffer_truncate(&out, 0);
    if (rpc_decode_install_snapshot_result(obj, names, N_NAMES, &r, err, sizeof(err)) == 0) {
        if (rpc_encode_install_snapshot_result(&r, names, N_NAMES, &out) != 0)
            __builtin_trap();
        struct json_object *obj2 = reparse(&out);
        if (rpc_decode_install_snapshot_result(obj2, names, N_NAMES, &r2, err, sizeof(err)) != 0 ||
            r.term != r2.term || r.from != r2.from || r.to != r2.to ||
            r.last_included_index != r2.last_included_index || r.next_offset != r2.next_offset ||
            r.done != r2.done)
            __builtin_trap();
        json_object_put(obj2);
    } else if (memcmp(&r, &zero_r, sizeof(r)) != 0) {
        __builtin_trap();
    }
    buffer_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct json_object *obj = NULL, *obj2 = NULL;
    struct raft_message m, m2;
    struct buffer out;
    char err[256];

    buffer_init(&out);
    if (json_line_parse((const char *)data, size, RPC_LINE_MAX, &obj, err, sizeof(err)) != 0)
        goto done;
    snapshot_round_trip(obj);
    if (rpc_decode(obj, names, N_NAMES, &m, space1, RPC_MAX_ENTRIES, err, sizeof(err)) != 0) {
        /* A refusal must leave nothing half-decoded behind. */
        static const struct raft_message zero;
        if (memcmp(&m, &zero, sizeof(m)) != 0)
            __builtin_trap();
        goto done;
    }
    if (m.from < 1 || m.from > N_NAMES || m.to < 1 || m.to > N_NAMES || m.after_persist)
        __builtin_trap();
    /* Everything the decoder accepts the encoder must accept too. */
    if (rpc_encode(&m, names, N_NAMES, &out) != 0)
        __builtin_trap();
    const char *line = buffer_peek(&out);
    size_t len = buffer_len(&out);
    if (len == 0 || line[len - 1] != '\n' || memchr(line, '\n', len - 1) != NULL)
        __builtin_trap(); /* exactly one line */
    if (json_line_parse(line, len, RPC_LINE_MAX, &obj2, err, sizeof(err)) != 0)
        __builtin_trap();
    if (rpc_decode(obj2, names, N_NAMES, &m2, space2, RPC_MAX_ENTRIES, err, sizeof(err)) != 0)
        __builtin_trap();
    if (!messages_equal(&m, &m2))
        __builtin_trap();
done:
    json_object_put(obj2);
    json_object_put(obj);
    buffer_free(&out);
    return 0;
}
