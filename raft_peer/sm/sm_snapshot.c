/* sm_snapshot.c: snapshot bytes, little-endian throughout:
 *
 *   "RVSM" | version u32 | total length u64 | last_applied u64
 *   | n_vars u32 | n_vars x (name_len u8 | name | value i64)
 *                     version 2: in canonical order (kv_hash(name), then name) strictly increasing
 *                     version 1 (read only): names strictly increasing
 *   | n_sessions u32 | n_sessions x (id_len u8 | id | last_seq u64 | last_index u64
 *                                    | ok u8 | result i64 | error u8 | msg_len u8 | msg)
 *                                                                    last_index strictly increasing
 *   | crc32 u32 of everything before it
 *
 * Version 2 takes the variables in the table's own order (kv_foreach), which is the
 * canonical order by construction: no sort when a snapshot is taken.
 */
#include "common/error_message.h"
#include "raft_peer/sm/prefault.h"
#include "raft_peer/sm/sm_snapshot.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "common/command.h"

static const uint8_t MAGIC[4] = {'R', 'V', 'S', 'M'};
#define HEADER_LEN      24 /* magic, version, total length, last_applied */
#define TRAILER_LEN     4  /* crc32 */
#define VAR_MIN_LEN     10
#define SESSION_MIN_LEN 29
#define MSG_MAX         (sizeof(((struct sm_result *)0)->message) - 1)

/* A cached response's error, stored as its index here. */
static const char *const ERROR_CODES[] = {
    "", "overflow", "cas_failed", "div_by_zero", "bad_command", "stale_seq"};
#define N_ERROR_CODES (sizeof(ERROR_CODES) / sizeof(ERROR_CODES[0]))

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* CRC-32 as zlib computes it (the IEEE polynomial, bit-reflected, pre- and
 * post-inverted), from zlib: its crc32_z is several GB/s here and chains over slices. */
uint32_t sm_snapshot_crc32(const uint8_t *data, size_t len)
{
    return (uint32_t)crc32_z(0, data, len);
}

/* ---- writing ----------------------------------------------------------------- */

/* Writes past cap are counted but dropped, so a sizing mistake shows as off != cap. */
struct writer {
    uint8_t *p;
    size_t off;
    size_t cap;
};

static void put_u8(struct writer *w, uint8_t v)
{
    if (w->off < w->cap)
        w->p[w->off] = v;
    w->off++;
}

static void put_u32(struct writer *w, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        put_u8(w, (uint8_t)(v >> (8 * i)));
}

static void put_u64(struct writer *w, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        put_u8(w, (uint8_t)(v >> (8 * i)));
}

static void put_bytes(struct writer *w, const void *src, size_t n)
{
    const uint8_t *s = src;
    for (size_t i = 0; i < n; i++)
        put_u8(w, s[i]);
}

static void write_var(void *ctx, const char *name, int64_t value)
{
    struct writer *w = ctx;
    size_t len = strlen(name);
    if (w->off <= w->cap && w->cap - w->off >= 1 + len + 8) {
        uint8_t *p = w->p + w->off;
        p[0] = (uint8_t)len;
        memcpy(p + 1, name, len);
        for (int i = 0; i < 8; i++)
            p[1 + len + (size_t)i] = (uint8_t)((uint64_t)value >> (8 * i));
        w->off += 1 + len + 8;
        return;
    }
    put_u8(w, (uint8_t)len);
    put_bytes(w, name, len);
    put_u64(w, (uint64_t)value);
}

static int error_code(const char *error)
{
    for (size_t i = 0; i < N_ERROR_CODES; i++)
        if (strcmp(error, ERROR_CODES[i]) == 0)
            return (int)i;
    return -1;
}

int sm_snapshot_write(const struct kv_store *kv, const struct sessions *ss, uint64_t last_applied,
                      uint8_t **out, size_t *outlen)
{
    *out = NULL;
    *outlen = 0;
    if (kv_count(kv) > UINT32_MAX)
        return -1;

    size_t size = HEADER_LEN + 4 + 4 + TRAILER_LEN + kv_count(kv) * 9 + kv_name_bytes(kv);
    for (const struct session *s = sessions_oldest(ss); s != NULL; s = s->newer)
        size += SESSION_MIN_LEN - 1 + strlen(s->client_id) + strnlen(s->response.message, MSG_MAX);

    struct writer w = {.p = malloc(size), .cap = size};
    if (w.p == NULL)
        return -1;
    prefault(w.p, size);
    put_bytes(&w, MAGIC, sizeof(MAGIC));
    put_u32(&w, SM_SNAPSHOT_VERSION);
    put_u64(&w, (uint64_t)size);
    put_u64(&w, last_applied);
    put_u32(&w, (uint32_t)kv_count(kv));
    kv_foreach(kv, write_var, &w); /* canonical order, no sort */
    put_u32(&w, (uint32_t)sessions_count(ss));
    for (const struct session *s = sessions_oldest(ss); s != NULL; s = s->newer) {
        int code = error_code(s->response.error);
        if (code < 0)
            goto fail;
        size_t id_len = strlen(s->client_id);
        size_t msg_len = strnlen(s->response.message, MSG_MAX);
        put_u8(&w, (uint8_t)id_len);
        put_bytes(&w, s->client_id, id_len);
        put_u64(&w, s->last_seq);
        put_u64(&w, s->last_index);
        put_u8(&w, s->response.ok ? 1 : 0);
        put_u64(&w, (uint64_t)s->response.result);
        put_u8(&w, (uint8_t)code);
        put_u8(&w, (uint8_t)msg_len);
        put_bytes(&w, s->response.message, msg_len);
    }
    if (w.off != size - TRAILER_LEN)
        goto fail;
    put_u32(&w, sm_snapshot_crc32(w.p, size - TRAILER_LEN));
    *out = w.p;
    *outlen = size;
    return 0;
fail:
    free(w.p);
    return -1;
}

/* ---- reading ----------------------------------------------------------------- */

/* Reads past the end yield zeros and set bad, so checks can be batched. */
struct reader {
    const uint8_t *p;
    size_t len;
    size_t off;
    bool bad;
};

static uint8_t get_u8(struct reader *r)
{
    if (r->off >= r->len) {
        r->bad = true;
        return 0;
    }
    return r->p[r->off++];
}

static uint32_t get_u32(struct reader *r)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)get_u8(r) << (8 * i);
    return v;
}

static uint64_t get_u64(struct reader *r)
{
    uint64_t v = 0;
    if (r->off <= r->len && r->len - r->off >= 8) { /* the common case, in one go */
        const uint8_t *p = r->p + r->off;
        for (int i = 0; i < 8; i++)
            v |= (uint64_t)p[i] << (8 * i);
        r->off += 8;
        return v;
    }
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)get_u8(r) << (8 * i);
    return v;
}

/* Copies n bytes into dst and NUL-terminates it (dst holds n + 1). */
static bool get_string(struct reader *r, char *dst, size_t n)
{
    if (r->bad || n > r->len - r->off) {
        r->bad = true;
        return false;
    }
    memcpy(dst, r->p + r->off, n);
    dst[n] = '\0';
    r->off += n;
    return true;
}

static size_t remaining(const struct reader *r)
{
    return r->len - r->off;
}

static bool all_in(const char *s, size_t n, unsigned char lo, unsigned char hi)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < lo || (unsigned char)s[i] > hi)
            return false;
    return true;
}

/* A snapshot being read a slice at a time (sm_snapshot.h): the checksum first, then
 * the variables, then the sessions (at most SM_MAX_SESSIONS: one slice). */
enum reader_phase { PHASE_CHECKSUM, PHASE_VARIABLES, PHASE_SESSIONS, PHASE_DONE };

struct sm_snapshot_reader {
    const uint8_t *data;
    size_t len;
    enum reader_phase phase;
    size_t crc_off;
    uint32_t crc;
    struct reader r;
    uint64_t applied;
    bool by_hash; /* version 2; version 1's order is by name alone */
    uint32_t n_vars, next_var;
    const char *prev; /* the previous variable's name, in data */
    size_t prev_len;
    uint64_t prev_key;
    struct kv_store *kv;
    struct sessions *ss;
};

int sm_snapshot_reader_open(const uint8_t *data, size_t len, struct sm_snapshot_reader **out,
                            char *err, size_t errlen)
{
    if (data == NULL || len < HEADER_LEN + 4 + 4 + TRAILER_LEN) {
        set_err(err, errlen, "snapshot is too short: %zu bytes", data == NULL ? 0 : len);
        return -1;
    }
    if (memcmp(data, MAGIC, sizeof(MAGIC)) != 0) {
        set_err(err, errlen, "not a state machine snapshot: bad magic");
        return -1;
    }
    struct reader r = {.p = data, .len = len - TRAILER_LEN, .off = sizeof(MAGIC)};
    uint32_t version = get_u32(&r);
    if (version != SM_SNAPSHOT_VERSION && version != SM_SNAPSHOT_VERSION_SORTED) {
        set_err(err, errlen, "snapshot format version %u is not supported (expected %d or %d)",
                (unsigned)version, SM_SNAPSHOT_VERSION_SORTED, SM_SNAPSHOT_VERSION);
        return -1;
    }
    uint64_t total = get_u64(&r);
    if (total != len) {
        set_err(err, errlen, "snapshot is %zu bytes but says %llu: truncated or padded", len,
                (unsigned long long)total);
        return -1;
    }
    struct sm_snapshot_reader *rd = calloc(1, sizeof(*rd));
    if (rd == NULL) {
        set_err(err, errlen, "out of memory reading the snapshot");
        return -1;
    }
    rd->data = data;
    rd->len = len;
    rd->phase = PHASE_CHECKSUM;
    rd->crc = 0; /* zlib's CRC of no bytes, to chain from */
    rd->r = r;
    rd->by_hash = version == SM_SNAPSHOT_VERSION;
    *out = rd;
    return 0;
}

/* After the checksum: the counts, and tables sized for them. */
static int start_variables(struct sm_snapshot_reader *rd, char *err, size_t errlen)
{
    struct reader *r = &rd->r;
    rd->applied = get_u64(r);
    rd->n_vars = get_u32(r);
    if (rd->n_vars > remaining(r) / VAR_MIN_LEN) {
        set_err(err, errlen, "snapshot claims %u variables, more than its bytes can hold",
                (unsigned)rd->n_vars);
        return -1;
    }
    /* n_vars and the name bytes are bounded by the bytes left (the session bytes make
     * the second a slight overestimate): the table costs at most a few times the input. */
    rd->kv = kv_new_reserved(rd->n_vars, remaining(r) - (size_t)rd->n_vars * 9);
    rd->ss = sessions_new(SM_MAX_SESSIONS);
    if (rd->kv == NULL || rd->ss == NULL) {
        set_err(err, errlen, "out of memory reading the snapshot");
        return -1;
    }
    return 0;
}

/* Variables are read READ_BATCH at a time in three passes: parse and check each record's
 * bytes, hash the names, then check the order and insert. The hashes are a chain of
 * dependent multiplies per name; computed back to back, those of different names
 * overlap in the CPU instead of each waiting behind the insert before it. */
#define READ_BATCH 16

struct var_record {
    const char *name; /* in the snapshot bytes */
    uint8_t len;
    int64_t value;
    uint64_t hash;
};

/* How a batch's parse ended. RECORD_NO_VALUE: the last record's name was read and
 * checked but its value is cut off; its order is still checked first, as a
 * record-at-a-time read would. */
enum record_error {
    RECORD_OK,
    RECORD_BAD_LENGTH,
    RECORD_TRUNCATED,
    RECORD_BAD_NAME,
    RECORD_NO_VALUE
};

/* Parses records into v until want are read or one is bad. *n_named counts the records
 * with a checked name; *bad_len is the out-of-range length of RECORD_BAD_LENGTH. */
static enum record_error parse_records(struct reader *r, struct var_record *v, uint32_t want,
                                       uint32_t *n_named, uint8_t *bad_len)
{
    *n_named = 0;
    for (uint32_t k = 0; k < want; k++) {
        uint8_t name_len = get_u8(r);
        if (name_len == 0 || name_len > COMMAND_NAME_MAX) {
            *bad_len = name_len;
            return RECORD_BAD_LENGTH;
        }
        if (r->bad || name_len > remaining(r))
            return RECORD_TRUNCATED;
        const char *name = (const char *)r->p + r->off;
        r->off += name_len;
        if (!command_name_valid_n(name, name_len))
            return RECORD_BAD_NAME;
        v[k].name = name;
        v[k].len = name_len;
        *n_named = k + 1;
        if (remaining(r) < 8) {
            r->bad = true;
            return RECORD_NO_VALUE;
        }
        v[k].value = (int64_t)le64(r->p + r->off);
        r->off += 8;
    }
    return RECORD_OK;
}

/* Names are checked and inserted straight from the bytes. -1 with err on bad input. */
static int read_variables(struct sm_snapshot_reader *rd, uint32_t budget, char *err, size_t errlen)
{
    struct reader *r = &rd->r;
    while (rd->next_var < rd->n_vars && budget > 0) {
        struct var_record v[READ_BATCH];
        uint32_t want = rd->n_vars - rd->next_var, n_named;
        uint8_t bad_len = 0;
        if (want > budget)
            want = budget;
        if (want > READ_BATCH)
            want = READ_BATCH;
        enum record_error bad = parse_records(r, v, want, &n_named, &bad_len);
        for (uint32_t k = 0; k < n_named; k++)
            v[k].hash = kv_hash(v[k].name, v[k].len);
        for (uint32_t k = 0; k < n_named; k++) {
            uint32_t i = rd->next_var;
            const char *name = v[k].name;
            uint64_t key = rd->by_hash ? v[k].hash : 0;
            /* One canonical encoding: strictly increasing, hence also free of duplicates. */
            if (rd->prev != NULL && kv_canonical_cmp_n(rd->prev_key, rd->prev, rd->prev_len, key,
                                                       name, v[k].len) >= 0) {
                set_err(err, errlen, "variable %u: '%.*s' is out of order or repeated", (unsigned)i,
                        (int)v[k].len, name);
                return -1;
            }
            if (bad == RECORD_NO_VALUE && k + 1 == n_named)
                break; /* reported below */
            /* Version 2 comes in the table's own order: appended without a lookup. */
            int rc = rd->by_hash
                         ? kv_append_canonical(rd->kv, name, v[k].len, v[k].hash, v[k].value)
                         : kv_set_hashed(rd->kv, name, v[k].len, v[k].hash, v[k].value);
            if (rc != 0) {
                set_err(err, errlen, "out of memory reading the snapshot");
                return -1;
            }
            rd->prev = name;
            rd->prev_len = v[k].len;
            rd->prev_key = key;
            rd->next_var++;
            budget--;
        }
        if (bad == RECORD_OK)
            continue;
        uint32_t i = rd->next_var;
        if (bad == RECORD_BAD_LENGTH)
            set_err(err, errlen, "variable %u: name length %u is out of range", (unsigned)i,
                    (unsigned)bad_len);
        else if (bad == RECORD_BAD_NAME)
            set_err(err, errlen, "variable %u: invalid name", (unsigned)i);
        else
            set_err(err, errlen, "snapshot ends in the middle of a record");
        return -1;
    }
    return 0;
}

static int read_sessions(struct sm_snapshot_reader *rd, char *err, size_t errlen)
{
    struct reader *r = &rd->r;
    struct sessions *ss = rd->ss;
    uint32_t n_sessions = get_u32(r);
    /* A snapshot that ends right after its variables has no session count at all; the
     * reader would read it as 0 and accept it (found by tests/fuzz/fuzz_command_apply). */
    if (r->bad)
        goto truncated;
    if (n_sessions > SM_MAX_SESSIONS || n_sessions > remaining(r) / SESSION_MIN_LEN) {
        set_err(err, errlen, "snapshot claims %u sessions, more than %s", (unsigned)n_sessions,
                n_sessions > SM_MAX_SESSIONS ? "the bound" : "its bytes can hold");
        return -1;
    }
    uint64_t prev_index = 0;
    for (uint32_t i = 0; i < n_sessions; i++) {
        char id[SM_CLIENT_ID_MAX + 1];
        char msg[MSG_MAX + 1];
        uint8_t id_len = get_u8(r);
        if (id_len == 0 || id_len > SM_CLIENT_ID_MAX) {
            set_err(err, errlen, "session %u: client id length %u is out of range", (unsigned)i,
                    (unsigned)id_len);
            return -1;
        }
        if (!get_string(r, id, id_len))
            goto truncated;
        if (!all_in(id, id_len, '!', '~')) {
            set_err(err, errlen, "session %u: invalid client id", (unsigned)i);
            return -1;
        }
        if (sessions_find(ss, id) != NULL) {
            set_err(err, errlen, "session %u: client %s appears twice", (unsigned)i, id);
            return -1;
        }
        uint64_t last_seq = get_u64(r);
        uint64_t last_index = get_u64(r);
        uint8_t ok = get_u8(r);
        int64_t result = (int64_t)get_u64(r);
        uint8_t code = get_u8(r);
        uint8_t msg_len = get_u8(r);
        if (r->bad)
            goto truncated;
        /* Sessions come oldest first, and none can be newer than the snapshot. */
        if (last_index <= prev_index || last_index > rd->applied) {
            set_err(err, errlen, "session %u: index %llu is out of order", (unsigned)i,
                    (unsigned long long)last_index);
            return -1;
        }
        if (ok > 1 || code >= N_ERROR_CODES || (ok == 1) != (code == 0) || msg_len > MSG_MAX) {
            set_err(err, errlen, "session %u: inconsistent cached response", (unsigned)i);
            return -1;
        }
        if (!get_string(r, msg, msg_len))
            goto truncated;
        if (!all_in(msg, msg_len, ' ', '~')) {
            set_err(err, errlen, "session %u: unprintable message", (unsigned)i);
            return -1;
        }
        struct session *s = session_alloc(id);
        if (s == NULL) {
            set_err(err, errlen, "out of memory reading the snapshot");
            return -1;
        }
        s->last_seq = last_seq;
        s->response.ok = ok == 1;
        s->response.result = result;
        snprintf(s->response.error, sizeof(s->response.error), "%s", ERROR_CODES[code]);
        memcpy(s->response.message, msg, (size_t)msg_len + 1);
        sessions_insert(ss, s, last_index);
        prev_index = last_index;
    }
    if (r->off != r->len) {
        set_err(err, errlen, "snapshot has %zu unexpected bytes after the sessions", remaining(r));
        return -1;
    }
    return 0;
truncated:
    set_err(err, errlen, "snapshot ends in the middle of a record");
    return -1;
}

/* Bytes of checksum per unit of budget: a variable costs about as much as hashing and
 * inserting ~64 bytes, which the checksum runs through in far less time. */
#define CRC_BYTES_PER_UNIT 256

int sm_snapshot_reader_step(struct sm_snapshot_reader *rd, uint32_t budget, char *err,
                            size_t errlen)
{
    if (rd->phase == PHASE_CHECKSUM) {
        size_t end = rd->len - TRAILER_LEN;
        size_t n = end - rd->crc_off;
        if ((uint64_t)budget * CRC_BYTES_PER_UNIT < n)
            n = (size_t)budget * CRC_BYTES_PER_UNIT;
        rd->crc = (uint32_t)crc32_z(rd->crc, rd->data + rd->crc_off, n);
        rd->crc_off += n;
        if (rd->crc_off < end)
            return 0;
        if (le32(rd->data + end) != rd->crc) {
            set_err(err, errlen, "snapshot checksum mismatch: the bytes are damaged");
            return -1;
        }
        if (start_variables(rd, err, errlen) != 0)
            return -1;
        rd->phase = PHASE_VARIABLES;
        return 0; /* the checksum was this slice */
    }
    if (rd->phase == PHASE_VARIABLES) {
        if (read_variables(rd, budget, err, errlen) != 0)
            return -1;
        if (rd->next_var < rd->n_vars)
            return 0;
        rd->phase = PHASE_SESSIONS;
        return 0;
    }
    if (rd->phase == PHASE_SESSIONS) {
        if (read_sessions(rd, err, errlen) != 0)
            return -1;
        rd->phase = PHASE_DONE;
    }
    return 1;
}

uint64_t sm_snapshot_reader_last_applied(const struct sm_snapshot_reader *rd)
{
    return rd->applied;
}

void sm_snapshot_reader_take(struct sm_snapshot_reader *rd, struct kv_store **kv,
                             struct sessions **ss, uint64_t *last_applied)
{
    *kv = rd->kv;
    *ss = rd->ss;
    *last_applied = rd->applied;
    rd->kv = NULL;
    rd->ss = NULL;
}

void sm_snapshot_reader_free(struct sm_snapshot_reader *rd)
{
    if (rd == NULL)
        return;
    kv_free(rd->kv);
    sessions_free(rd->ss);
    free(rd);
}

int sm_snapshot_read(const uint8_t *data, size_t len, struct kv_store **kv_out,
                     struct sessions **ss_out, uint64_t *last_applied, char *err, size_t errlen)
{
    struct sm_snapshot_reader *rd;
    if (sm_snapshot_reader_open(data, len, &rd, err, errlen) != 0)
        return -1;
    int rc;
    while ((rc = sm_snapshot_reader_step(rd, UINT32_MAX, err, errlen)) == 0) {
    }
    if (rc == 1)
        sm_snapshot_reader_take(rd, kv_out, ss_out, last_applied);
    sm_snapshot_reader_free(rd);
    return rc == 1 ? 0 : -1;
}
