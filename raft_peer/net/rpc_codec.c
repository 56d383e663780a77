/* rpc_codec.c: Raft RPCs as JSON lines. Encoding is hand-written into a buffer (it is
 * on the leader's hot path); decoding reads a json-c object. */
#include "common/base64.h"
#include "common/error_message.h"
#include "raft_peer/net/rpc_codec.h"

#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- encoding ---------------------------------------------------------- */

static bool data_ok(const uint8_t *data, uint32_t len)
{
    if (len > RPC_MAX_ENTRY_DATA || (len > 0 && !data))
        return false;
    for (uint32_t i = 0; i < len; i++)
        if (data[i] < ' ' || data[i] > '~')
            return false;
    return true;
}

static int put(struct buffer *b, const char *s)
{
    return buffer_append(b, s, strlen(s));
}

static int put_u64(struct buffer *b, uint64_t v)
{
    char tmp[20];
    size_t i = sizeof(tmp);
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return buffer_append(b, tmp + i, sizeof(tmp) - i);
}

/* ,"key":value for an unsigned field. */
static int put_key_u64(struct buffer *b, const char *key, uint64_t v)
{
    if (buffer_append(b, ",\"", 2) || put(b, key) || buffer_append(b, "\":", 2))
        return -1;
    return put_u64(b, v);
}

static int put_key_bool(struct buffer *b, const char *key, bool v)
{
    if (buffer_append(b, ",\"", 2) || put(b, key) || buffer_append(b, "\":", 2))
        return -1;
    return put(b, v ? "true" : "false");
}

/* A JSON string. Bytes below 0x20 become \u00XX; everything else is copied, so the
 * caller checks that what it passes is text. */
static int put_json_string(struct buffer *b, const char *s, size_t len)
{
    /* An empty entry (a leader's noop) may have data == NULL, and NULL + 0 below would be
     * undefined behaviour (found by tests/fuzz/fuzz_rpc_decode). */
    if (len == 0)
        return buffer_append(b, "\"\"", 2);
    if (buffer_reserve(b, len + 2) != 0 || buffer_append(b, "\"", 1) != 0)
        return -1;
    size_t run = 0; /* bytes copied in one go between escapes */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        if (buffer_append(b, s + run, i - run) != 0)
            return -1;
        char esc[8];
        if (c == '"' || c == '\\')
            snprintf(esc, sizeof(esc), "\\%c", c);
        else
            snprintf(esc, sizeof(esc), "\\u%04x", c);
        if (put(b, esc) != 0)
            return -1;
        run = i + 1;
    }
    if (buffer_append(b, s + run, len - run) != 0)
        return -1;
    return buffer_append(b, "\"", 1);
}

static int put_key_name(struct buffer *b, const char *key, const char *name)
{
    if (buffer_append(b, ",\"", 2) || put(b, key) || buffer_append(b, "\":", 2))
        return -1;
    return put_json_string(b, name, strlen(name));
}

/* The core's own names are the wire's; NULL for a type the wire does not carry. */
static const char *type_name(enum raft_message_type t)
{
    if (t < RAFT_MSG_REQUEST_VOTE || t > RAFT_MSG_TIMEOUT_NOW)
        return NULL;
    return raft_message_type_name(t);
}

/* Everything the decoder would refuse, checked before a byte is written. */
static bool encodable(const struct raft_message *m, const char *const *names, int n)
{
    if (!type_name(m->type) || m->from < 1 || m->from > n || m->to < 1 || m->to > n ||
        !names[m->from - 1] || !names[m->to - 1] || m->term > JSON_UINT_MAX)
        return false;
    if (m->type == RAFT_MSG_REQUEST_VOTE) {
        const struct raft_request_vote *rv = &m->u.request_vote;
        return rv->last_log_index <= JSON_UINT_MAX && rv->last_log_term <= JSON_UINT_MAX;
    }
    if (m->type == RAFT_MSG_APPEND_ENTRIES) {
        const struct raft_append_entries *ae = &m->u.append_entries;
        if (ae->prev_log_index > JSON_UINT_MAX || ae->prev_log_term > JSON_UINT_MAX ||
            ae->leader_commit > JSON_UINT_MAX || ae->read_round > JSON_UINT_MAX ||
            ae->n_entries > RPC_MAX_ENTRIES || (ae->n_entries > 0 && !ae->entries))
            return false;
        for (uint32_t i = 0; i < ae->n_entries; i++) {
            const struct raft_entry *e = &ae->entries[i];
            if (e->term > JSON_UINT_MAX || !data_ok(e->data, e->len) ||
                (e->type != RAFT_ENTRY_COMMAND && e->type != RAFT_ENTRY_NOOP &&
                 e->type != RAFT_ENTRY_CONFIG))
                return false;
        }
    }
    if (m->type == RAFT_MSG_APPEND_ENTRIES_RESULT) {
        const struct raft_append_entries_result *r = &m->u.append_entries_result;
        return r->match_index <= JSON_UINT_MAX && r->rejected_index <= JSON_UINT_MAX &&
               r->conflict_term <= JSON_UINT_MAX && r->conflict_index <= JSON_UINT_MAX &&
               r->last_log_index <= JSON_UINT_MAX && r->read_round <= JSON_UINT_MAX;
    }
    if (m->type == RAFT_MSG_TIMEOUT_NOW)
        return m->u.timeout_now.last_log_index <= JSON_UINT_MAX;
    return true;
}

static const char *entry_type_name(uint8_t type)
{
    switch (type) {
    case RAFT_ENTRY_NOOP:
        return "noop";
    case RAFT_ENTRY_CONFIG:
        return "config";
    default:
        return "command";
    }
}

static int put_entries(struct buffer *b, const struct raft_append_entries *ae)
{
    if (put(b, ",\"entries\":[") != 0)
        return -1;
    for (uint32_t i = 0; i < ae->n_entries; i++) {
        const struct raft_entry *e = &ae->entries[i];
        if (put(b, i ? ",{\"term\":" : "{\"term\":") || put_u64(b, e->term) ||
            put(b, ",\"type\":\"") || put(b, entry_type_name(e->type)) || put(b, "\",\"data\":") ||
            put_json_string(b, (const char *)e->data, e->len) || put(b, "}"))
            return -1;
    }
    return put(b, "]");
}

static int put_body(struct buffer *b, const struct raft_message *m, const char *const *names)
{
    const char *from = names[m->from - 1];
    switch (m->type) {
    case RAFT_MSG_REQUEST_VOTE: {
        const struct raft_request_vote *rv = &m->u.request_vote;
        return put_key_name(b, "candidate_id", from) ||
               put_key_u64(b, "last_log_index", rv->last_log_index) ||
               put_key_u64(b, "last_log_term", rv->last_log_term) ||
               put_key_bool(b, "pre_vote", rv->pre_vote) ||
               put_key_bool(b, "leadership_transfer", rv->leadership_transfer);
    }
    case RAFT_MSG_REQUEST_VOTE_RESULT: {
        const struct raft_request_vote_result *r = &m->u.request_vote_result;
        return put_key_bool(b, "vote_granted", r->vote_granted) ||
               put_key_bool(b, "pre_vote", r->pre_vote);
    }
    case RAFT_MSG_APPEND_ENTRIES: {
        const struct raft_append_entries *ae = &m->u.append_entries;
        return put_key_name(b, "leader_id", from) ||
               put_key_u64(b, "prev_log_index", ae->prev_log_index) ||
               put_key_u64(b, "prev_log_term", ae->prev_log_term) ||
               put_key_u64(b, "leader_commit", ae->leader_commit) ||
               put_key_u64(b, "read_round", ae->read_round) || put_entries(b, ae);
    }
    case RAFT_MSG_APPEND_ENTRIES_RESULT: {
        const struct raft_append_entries_result *r = &m->u.append_entries_result;
        return put_key_bool(b, "success", r->success) ||
               put_key_u64(b, "match_index", r->match_index) ||
               put_key_u64(b, "rejected_index", r->rejected_index) ||
               put_key_u64(b, "conflict_term", r->conflict_term) ||
               put_key_u64(b, "conflict_index", r->conflict_index) ||
               put_key_u64(b, "last_log_index", r->last_log_index) ||
               put_key_u64(b, "read_round", r->read_round);
    }
    case RAFT_MSG_TIMEOUT_NOW:
        return put_key_u64(b, "last_log_index", m->u.timeout_now.last_log_index);
    }
    return -1;
}

int rpc_encode(const struct raft_message *m, const char *const *names, int n, struct buffer *out)
{
    if (!encodable(m, names, n))
        return -1;
    size_t mark = buffer_len(out);
    /* One reservation up front for the common case; put_* still grow on demand. */
    size_t guess = 256;
    if (m->type == RAFT_MSG_APPEND_ENTRIES)
        for (uint32_t i = 0; i < m->u.append_entries.n_entries; i++)
            guess += 48 + m->u.append_entries.entries[i].len;
    if (buffer_reserve(out, guess) != 0 || put(out, "{\"type\":\"") ||
        put(out, type_name(m->type)) || put(out, "\"") || put_key_u64(out, "term", m->term) ||
        put_body(out, m, names) || put_key_name(out, "from", names[m->from - 1]) ||
        put_key_name(out, "to", names[m->to - 1]) || put(out, "}\n")) {
        buffer_truncate(out, mark);
        return -1;
    }
    return 0;
}

/* ---- decoding ---------------------------------------------------------- */

/* Copies at most 32 bytes of untrusted text for an error message, masking anything
 * that is not printable so a hostile peer cannot forge lines in our log. */
static void sanitize(char *dst, size_t dstlen, const char *s, size_t len)
{
    size_t n = len < dstlen - 1 ? len : dstlen - 1;
    for (size_t i = 0; i < n; i++)
        dst[i] = (s[i] >= ' ' && s[i] <= '~') ? s[i] : '?';
    dst[n] = '\0';
}

/* A field naming a peer: 1..n, or -1 with err. */
static int get_peer(struct json_object *obj, const char *key, const char *const *names, int n,
                    char *err, size_t errlen)
{
    const char *s;
    size_t len;
    if (json_get_string(obj, key, &s, &len, err, errlen) != 0)
        return -1;
    for (int i = 0; i < n; i++)
        if (names[i] && strlen(names[i]) == len && memcmp(names[i], s, len) == 0)
            return i + 1;
    char shown[33];
    sanitize(shown, sizeof(shown), s, len);
    set_err(err, errlen, "field \"%s\": unknown peer \"%s\"", key, shown);
    return -1;
}

static int get_type(struct json_object *obj, enum raft_message_type *t, char *err, size_t errlen)
{
    const char *s;
    size_t len;
    if (json_get_string(obj, "type", &s, &len, err, errlen) != 0)
        return -1;
    for (int i = RAFT_MSG_REQUEST_VOTE; i <= RAFT_MSG_TIMEOUT_NOW; i++) {
        const char *name = type_name((enum raft_message_type)i);
        if (strlen(name) == len && memcmp(name, s, len) == 0) {
            *t = (enum raft_message_type)i;
            return 0;
        }
    }
    char shown[33];
    sanitize(shown, sizeof(shown), s, len);
    set_err(err, errlen, "unknown message type \"%s\"", shown);
    return -1;
}

static int get_entry(struct json_object *eobj, size_t i, struct raft_entry *e, char *err,
                     size_t errlen)
{
    char ferr[128]; /* the field error, prefixed with the entry's position below */
    const char *s;
    size_t len;
    if (!json_object_is_type(eobj, json_type_object)) {
        set_err(err, errlen, "entry %zu is not an object", i);
        return -1;
    }
    if (json_get_u64(eobj, "term", &e->term, ferr, sizeof(ferr)) != 0 ||
        json_get_string(eobj, "type", &s, &len, ferr, sizeof(ferr)) != 0)
        goto bad;
    if (len == 7 && memcmp(s, "command", 7) == 0) {
        e->type = RAFT_ENTRY_COMMAND;
    } else if (len == 4 && memcmp(s, "noop", 4) == 0) {
        e->type = RAFT_ENTRY_NOOP;
    } else if (len == 6 && memcmp(s, "config", 6) == 0) {
        e->type = RAFT_ENTRY_CONFIG; /* the core checks its bytes (raft_configuration_decode) */
    } else {
        snprintf(ferr, sizeof(ferr), "type must be \"command\", \"noop\" or \"config\"");
        goto bad;
    }
    if (json_get_string(eobj, "data", &s, &len, ferr, sizeof(ferr)) != 0)
        goto bad;
    if (len > RPC_MAX_ENTRY_DATA || !data_ok((const uint8_t *)s, (uint32_t)len)) {
        snprintf(ferr, sizeof(ferr), "data must be at most %d bytes of printable ASCII",
                 RPC_MAX_ENTRY_DATA);
        goto bad;
    }
    e->len = (uint32_t)len;
    /* Borrowed from obj: raft_entry's data is not const, but nobody writes through it. */
    e->data = len ? (uint8_t *)s : NULL;
    return 0;
bad:
    set_err(err, errlen, "entry %zu: %s", i, ferr);
    return -1;
}

static int get_entries(struct json_object *obj, struct raft_append_entries *ae,
                       struct raft_entry *space, size_t space_len, char *err, size_t errlen)
{
    struct json_object *arr = NULL;
    if (!json_object_object_get_ex(obj, "entries", &arr) || !arr) {
        set_err(err, errlen, "missing field \"entries\"");
        return -1;
    }
    if (!json_object_is_type(arr, json_type_array)) {
        set_err(err, errlen, "field \"entries\" must be an array");
        return -1;
    }
    size_t count = json_object_array_length(arr);
    size_t limit = space_len < RPC_MAX_ENTRIES ? space_len : RPC_MAX_ENTRIES;
    if (count > limit) {
        set_err(err, errlen, "too many entries (%zu, at most %zu)", count, limit);
        return -1;
    }
    for (size_t i = 0; i < count; i++)
        if (get_entry(json_object_array_get_idx(arr, i), i, &space[i], err, errlen) != 0)
            return -1;
    ae->n_entries = (uint32_t)count;
    ae->entries = count ? space : NULL;
    return 0;
}

/* candidate_id and leader_id repeat from; a mismatch means a confused or forged sender. */
static int check_sender(struct json_object *obj, const char *key, raft_id from,
                        const char *const *names, int n, char *err, size_t errlen)
{
    int id = get_peer(obj, key, names, n, err, errlen);
    if (id < 0)
        return -1;
    if (id != from) {
        set_err(err, errlen, "field \"%s\" differs from \"from\"", key);
        return -1;
    }
    return 0;
}

static int get_body(struct json_object *obj, const char *const *names, int n,
                    struct raft_message *m, struct raft_entry *space, size_t space_len, char *err,
                    size_t errlen)
{
    switch (m->type) {
    case RAFT_MSG_REQUEST_VOTE: {
        struct raft_request_vote *rv = &m->u.request_vote;
        return (check_sender(obj, "candidate_id", m->from, names, n, err, errlen) ||
                json_get_u64(obj, "last_log_index", &rv->last_log_index, err, errlen) ||
                json_get_u64(obj, "last_log_term", &rv->last_log_term, err, errlen) ||
                json_get_bool(obj, "pre_vote", &rv->pre_vote, err, errlen) ||
                json_get_bool(obj, "leadership_transfer", &rv->leadership_transfer, err, errlen))
                   ? -1
                   : 0;
    }
    case RAFT_MSG_REQUEST_VOTE_RESULT: {
        struct raft_request_vote_result *r = &m->u.request_vote_result;
        return (json_get_bool(obj, "vote_granted", &r->vote_granted, err, errlen) ||
                json_get_bool(obj, "pre_vote", &r->pre_vote, err, errlen))
                   ? -1
                   : 0;
    }
    case RAFT_MSG_APPEND_ENTRIES: {
        struct raft_append_entries *ae = &m->u.append_entries;
        return (check_sender(obj, "leader_id", m->from, names, n, err, errlen) ||
                json_get_u64(obj, "prev_log_index", &ae->prev_log_index, err, errlen) ||
                json_get_u64(obj, "prev_log_term", &ae->prev_log_term, err, errlen) ||
                json_get_u64(obj, "leader_commit", &ae->leader_commit, err, errlen) ||
                json_get_u64(obj, "read_round", &ae->read_round, err, errlen) ||
                get_entries(obj, ae, space, space_len, err, errlen))
                   ? -1
                   : 0;
    }
    case RAFT_MSG_APPEND_ENTRIES_RESULT: {
        struct raft_append_entries_result *r = &m->u.append_entries_result;
        return (json_get_bool(obj, "success", &r->success, err, errlen) ||
                json_get_u64(obj, "match_index", &r->match_index, err, errlen) ||
                json_get_u64(obj, "rejected_index", &r->rejected_index, err, errlen) ||
                json_get_u64(obj, "conflict_term", &r->conflict_term, err, errlen) ||
                json_get_u64(obj, "conflict_index", &r->conflict_index, err, errlen) ||
                json_get_u64(obj, "last_log_index", &r->last_log_index, err, errlen) ||
                json_get_u64(obj, "read_round", &r->read_round, err, errlen))
                   ? -1
                   : 0;
    }
    case RAFT_MSG_TIMEOUT_NOW:
        return json_get_u64(obj, "last_log_index", &m->u.timeout_now.last_log_index, err, errlen)
                   ? -1
                   : 0;
    }
    return -1;
}

int rpc_decode(struct json_object *obj, const char *const *names, int n, struct raft_message *m,
               struct raft_entry *entry_space, size_t entry_space_len, char *err, size_t errlen)
{
    memset(m, 0, sizeof(*m));
    if (!obj || !json_object_is_type(obj, json_type_object)) {
        set_err(err, errlen, "not a JSON object");
        return -1;
    }
    if (get_type(obj, &m->type, err, errlen) != 0 ||
        json_get_u64(obj, "term", &m->term, err, errlen) != 0)
        goto fail;
    if ((m->from = get_peer(obj, "from", names, n, err, errlen)) < 0 ||
        (m->to = get_peer(obj, "to", names, n, err, errlen)) < 0)
        goto fail;
    if (get_body(obj, names, n, m, entry_space, entry_space_len, err, errlen) != 0)
        goto fail;
    return 0;
fail:
    /* Leave nothing half-decoded that a careless caller could act on. */
    memset(m, 0, sizeof(*m));
    return -1;
}

/* ---- InstallSnapshot (Figure 13, in chunks) ----------------------------- */

static bool peers_ok(raft_id from, raft_id to, const char *const *names, int n)
{
    return from >= 1 && from <= n && to >= 1 && to <= n && names[from - 1] && names[to - 1];
}

int rpc_encode_install_snapshot(const struct rpc_install_snapshot *s, const char *const *names,
                                int n, struct buffer *out)
{
    if (!peers_ok(s->from, s->to, names, n) || s->term > JSON_UINT_MAX ||
        s->last_included_index > JSON_UINT_MAX || s->last_included_term > JSON_UINT_MAX ||
        s->size > JSON_UINT_MAX || s->offset > s->size || s->len > RPC_SNAPSHOT_CHUNK_MAX ||
        s->len > s->size - s->offset || (s->len > 0 && !s->data))
        return -1;
    size_t mark = buffer_len(out);
    size_t coded_len = base64_encoded_len(s->len);
    /* The base64 text goes straight into the line: it needs no JSON escaping. */
    if (buffer_reserve(out, coded_len + 512) != 0 || put(out, "{\"type\":\"install_snapshot\"") ||
        put_key_u64(out, "term", s->term) || put_key_name(out, "leader_id", names[s->from - 1]) ||
        put_key_u64(out, "last_included_index", s->last_included_index) ||
        put_key_u64(out, "last_included_term", s->last_included_term) ||
        put_key_u64(out, "size", s->size) || put_key_u64(out, "crc", s->crc) ||
        put_key_u64(out, "offset", s->offset) || put(out, ",\"data\":\"") ||
        buffer_reserve(out, coded_len + 1) != 0)
        goto fail;
    base64_encode(s->data ? s->data : (const uint8_t *)"", s->len, buffer_tail(out));
    buffer_commit(out, coded_len);
    if (put(out, "\"") || put_key_bool(out, "done", s->done) ||
        put_key_name(out, "from", names[s->from - 1]) ||
        put_key_name(out, "to", names[s->to - 1]) || put(out, "}\n"))
        goto fail;
    return 0;
fail:
    buffer_truncate(out, mark);
    return -1;
}

int rpc_encode_install_snapshot_result(const struct rpc_install_snapshot_result *r,
                                       const char *const *names, int n, struct buffer *out)
{
    if (!peers_ok(r->from, r->to, names, n) || r->term > JSON_UINT_MAX ||
        r->last_included_index > JSON_UINT_MAX || r->next_offset > JSON_UINT_MAX)
        return -1;
    size_t mark = buffer_len(out);
    if (put(out, "{\"type\":\"install_snapshot_result\"") || put_key_u64(out, "term", r->term) ||
        put_key_u64(out, "last_included_index", r->last_included_index) ||
        put_key_u64(out, "next_offset", r->next_offset) || put_key_bool(out, "done", r->done) ||
        put_key_name(out, "from", names[r->from - 1]) ||
        put_key_name(out, "to", names[r->to - 1]) || put(out, "}\n")) {
        buffer_truncate(out, mark);
        return -1;
    }
    return 0;
}

static int expect_type(struct json_object *obj, const char *want, char *err, size_t errlen)
{
    const char *s;
    size_t len;
    if (!obj || !json_object_is_type(obj, json_type_object)) {
        set_err(err, errlen, "not a JSON object");
        return -1;
    }
    if (json_get_string(obj, "type", &s, &len, err, errlen) != 0)
        return -1;
    if (strlen(want) != len || memcmp(want, s, len) != 0) {
        set_err(err, errlen, "field \"type\" must be \"%s\"", want);
        return -1;
    }
    return 0;
}

int rpc_decode_install_snapshot(struct json_object *obj, const char *const *names, int n,
                                struct rpc_install_snapshot *s, uint8_t *space, char *err,
                                size_t errlen)
{
    memset(s, 0, sizeof(*s));
    uint64_t crc;
    const char *coded;
    size_t coded_len;
    if (expect_type(obj, "install_snapshot", err, errlen) ||
        json_get_u64(obj, "term", &s->term, err, errlen) ||
        (s->from = get_peer(obj, "from", names, n, err, errlen)) < 0 ||
        (s->to = get_peer(obj, "to", names, n, err, errlen)) < 0 ||
        check_sender(obj, "leader_id", s->from, names, n, err, errlen) ||
        json_get_u64(obj, "last_included_index", &s->last_included_index, err, errlen) ||
        json_get_u64(obj, "last_included_term", &s->last_included_term, err, errlen) ||
        json_get_u64(obj, "size", &s->size, err, errlen) ||
        json_get_u64(obj, "crc", &crc, err, errlen) ||
        json_get_u64(obj, "offset", &s->offset, err, errlen) ||
        json_get_bool(obj, "done", &s->done, err, errlen) ||
        json_get_string(obj, "data", &coded, &coded_len, err, errlen))
        goto fail;
    if (crc > UINT32_MAX) {
        set_err(err, errlen, "field \"crc\" must fit 32 bits");
        goto fail;
    }
    /* A leader of term T holds no entry of a later term (the core refuses such a
     * snapshot too, but only once it has been received whole and made ours on disk). */
    if (s->last_included_term > s->term) {
        set_err(err, errlen, "last_included_term %llu is after the leader's term %llu",
                (unsigned long long)s->last_included_term, (unsigned long long)s->term);
        goto fail;
    }
    /* What the characters decode to, padding counted: 64 KiB is not a multiple of 3, so
     * a chunk's worth of characters without padding holds 2 bytes more than space. */
    size_t pad = coded_len >= 2 && coded[coded_len - 1] == '='
                     ? (size_t)1 + (coded[coded_len - 2] == '=')
                     : 0;
    if (coded_len > base64_encoded_len(RPC_SNAPSHOT_CHUNK_MAX) ||
        coded_len / 4 * 3 - (coded_len % 4 == 0 ? pad : 0) > RPC_SNAPSHOT_CHUNK_MAX) {
        set_err(err, errlen, "field \"data\" holds more than %u bytes", RPC_SNAPSHOT_CHUNK_MAX);
        goto fail;
    }
    long len = base64_decode(coded, coded_len, space);
    if (len < 0) {
        set_err(err, errlen, "field \"data\" is not canonical base64");
        goto fail;
    }
    if (s->offset > s->size || (uint64_t)len > s->size - s->offset) {
        set_err(err, errlen, "chunk at %llu of %ld bytes runs past the snapshot's %llu",
                (unsigned long long)s->offset, len, (unsigned long long)s->size);
        goto fail;
    }
    s->crc = (uint32_t)crc;
    s->data = space;
    s->len = (size_t)len;
    return 0;
fail:
    memset(s, 0, sizeof(*s));
    return -1;
}

int rpc_decode_install_snapshot_result(struct json_object *obj, const char *const *names, int n,
                                       struct rpc_install_snapshot_result *r, char *err,
                                       size_t errlen)
{
    memset(r, 0, sizeof(*r));
    if (expect_type(obj, "install_snapshot_result", err, errlen) ||
        json_get_u64(obj, "term", &r->term, err, errlen) ||
        (r->from = get_peer(obj, "from", names, n, err, errlen)) < 0 ||
        (r->to = get_peer(obj, "to", names, n, err, errlen)) < 0 ||
        json_get_u64(obj, "last_included_index", &r->last_included_index, err, errlen) ||
        json_get_u64(obj, "next_offset", &r->next_offset, err, errlen) ||
        json_get_bool(obj, "done", &r->done, err, errlen)) {
        memset(r, 0, sizeof(*r));
        return -1;
    }
    return 0;
}
