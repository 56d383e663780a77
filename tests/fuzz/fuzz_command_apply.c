/* fuzz_command_apply.c: libFuzzer target for the replicated state machine
 * (raft_peer/sm/state_machine.h) and its snapshot codec.
 *
 * Input, first byte = mode:
 *   mode % 4 == 0  the rest is a snapshot, decoded as it is: untrusted bytes must be
 *                  refused or accepted, never crash; accepted bytes must re-encode to
 *                  themselves (the format has one encoding per state).
 *   mode % 4 == 1  the same, but the length and CRC fields are fixed up first, so
 *                  the fuzzer gets past the checksum to the records.
 *   otherwise      a program of entries applied to a machine A (see run_program).
 *                  Alongside, a clone B restored from A's snapshot gets the same
 *                  entries and must answer exactly as A does, and a small model of
 *                  the variables and of our clients' sessions predicts each answer.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/command.h"
#include "raft_peer/sm/sm_snapshot.h"
#include "raft_peer/sm/state_machine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define N_CLIENTS 6
/* Snapshot and stale-index ops run per input; more are skipped (see run_program). */
#define MAX_HEAVY_OPS 8
#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            __builtin_trap();                                                                      \
    } while (0)

/* The fuzz input, consumed from the front; reads past the end give 0. */
struct input {
    const uint8_t *p;
    size_t len;
};

static uint8_t next(struct input *in)
{
    if (in->len == 0)
        return 0;
    in->len--;
    return *in->p++;
}

/* What the model knows about one of our clients' sessions. */
struct model_session {
    bool known;
    uint64_t last_seq;
    struct sm_result cached;
};

struct run {
    struct state_machine *a;
    struct state_machine *b; /* NULL until the first snapshot op */
    uint64_t index;          /* the last index handed to sm_apply* */
    struct model_session sess[N_CLIENTS];
    bool model_on; /* off once sessions could be evicted: the model does not do LRU */
    int heavy_ops; /* snapshot and stale-index ops so far */
};

static void snapshot(const struct state_machine *sm, uint8_t **out, size_t *len)
{
    CHECK(sm_snapshot_encode(sm, out, len) == 0);
}

static bool same_snapshot(const struct state_machine *x, const struct state_machine *y)
{
    uint8_t *p, *q;
    size_t n, m;
    snapshot(x, &p, &n);
    snapshot(y, &q, &m);
    bool same = n == m && memcmp(p, q, n) == 0;
    free(p);
    free(q);
    return same;
}

static bool results_equal(const struct sm_result *x, const struct sm_result *y)
{
    return x->ok == y->ok && x->result == y->result && strcmp(x->error, y->error) == 0 &&
           strcmp(x->message, y->message) == 0;
}

static void check_result(const struct sm_result *r)
{
    static const char *const codes[] = {
        "", "overflow", "cas_failed", "div_by_zero", "bad_command", "stale_seq", "session_expired"};
    bool known = false;
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        known |= strcmp(r->error, codes[i]) == 0;
    CHECK(known);
    CHECK(r->ok == (r->error[0] == '\0'));
    size_t n = strnlen(r->message, sizeof(r->message));
    CHECK(n < sizeof(r->message));
    for (size_t i = 0; i < n; i++)
        CHECK(r->message[i] >= ' ' && r->message[i] <= '~');
}

/* Applies one payload to A (and B), checks B agrees, and checks what the session model
 * predicts. Returns A's result. */
static struct sm_result apply(struct run *run, const uint8_t *payload, size_t len)
{
    struct sm_result ra, rb;
    char id[SM_CLIENT_ID_MAX + 1], text[SM_COMMAND_MAX + 1];
    uint64_t seq;

    CHECK(sm_apply(run->a, run->index, payload, len, &ra) == 0);
    check_result(&ra);
    CHECK(sm_last_applied(run->a) == run->index);
    if (run->b != NULL) {
        CHECK(sm_apply(run->b, run->index, payload, len, &rb) == 0);
        CHECK(results_equal(&ra, &rb));
    }
    if (sm_session_count(run->a) >= SM_MAX_SESSIONS)
        run->model_on = false;
    if (sm_decode_command(payload, len, id, &seq, NULL, text, sizeof(text)) != 0) {
        CHECK(strcmp(ra.error, "bad_command") == 0);
        return ra;
    }
    int c = -1;
    if (id[0] == 'c' && id[1] >= '0' && id[1] < '0' + N_CLIENTS && id[2] == '\0')
        c = id[1] - '0';
    if (c < 0 || !run->model_on)
        return ra;
    struct model_session *s = &run->sess[c];
    if (s->known && seq == s->last_seq) {
        CHECK(results_equal(&ra, &s->cached)); /* a retry gets the first answer */
    } else if (s->known && seq < s->last_seq) {
        CHECK(strcmp(ra.error, "stale_seq") == 0);
    } else if (!s->known && seq > 1) {
        /* No session and past a first seq: it may have been dropped (the model is off
         * once the table fills, so a seq-1 retry is always a new session here). */
        CHECK(strcmp(ra.error, "session_expired") == 0);
    } else {
        s->known = true;
        s->last_seq = seq;
        s->cached = ra;
    }
    return ra;
}

static const char *const var_names[] = {
    "x", "y", "_", "a123456789012345678901234567890123456789012345678901234567890123"};
static const int64_t values[] = {0,
                                 1,
                                 -1,
                                 2,
                                 -2,
                                 7,
                                 1000,
                                 INT64_MAX,
                                 INT64_MIN,
                                 INT64_MIN + 1,
                                 INT64_MAX - 1,
                                 3037000499,
                                 3037000500,
                                 -3037000500,
                                 4294967296};

static int64_t pick_value(struct input *in)
{
    uint8_t b = next(in);
    if (b < 2 * sizeof(values) / sizeof(values[0]))
        return values[b / 2];
    return (int64_t)(int8_t)next(in) * (b & 1 ? 1 : 1000003);
}

/* What executing c on current value cur must give, per CONTRACT.md's command table. */
static void expect(const struct command *c, int64_t cur, bool *ok, int64_t *result,
                   const char **error)
{
    int64_t v = 0;
    *ok = true;
    *error = "";
    switch (c->op) {
    case CMD_SET:
        v = c->arg1;
        break;
    case CMD_ADD:
        *ok = !__builtin_add_overflow(cur, c->arg1, &v);
        break;
    case CMD_SUB:
        *ok = !__builtin_sub_overflow(cur, c->arg1, &v);
        break;
    case CMD_MUL:
        *ok = !__builtin_mul_overflow(cur, c->arg1, &v);
        break;
    case CMD_DIV:
        if (c->arg1 == 0) {
            *ok = false;
            *error = "div_by_zero";
            *result = 0;
            return;
        }
        *ok = !(cur == INT64_MIN && c->arg1 == -1);
        if (*ok)
            v = cur / c->arg1;
        break;
    case CMD_CAS:
        if (cur != c->arg1) {
            *ok = false;
            *error = "cas_failed";
            *result = cur;
            return;
        }
        v = c->arg2;
        break;
    case CMD_GET:
    case CMD_DEL:
        v = cur;
        break;
    }
    if (!*ok)
        *error = "overflow";
    *result = *ok ? v : 0;
}

/* A well-formed command from a fixed client, so it reaches execution. */
static void apply_structured(struct run *run, struct input *in)
{
    char id[8], text[COMMAND_TEXT_MAX + 16], payload[SM_PAYLOAD_MAX + 1];
    struct command c;
    uint8_t who = next(in);
    uint64_t seq = next(in) % 8;

    memset(&c, 0, sizeof(c));
    snprintf(id, sizeof(id), "c%u", (unsigned)(who % N_CLIENTS));
    uint8_t shape = next(in);
    c.op = (enum command_op)(shape % 8);
    /* Four fixed names (the longest legal one among them), or one of 256 more, so the
     * variable table grows and deletes leave holes. */
    unsigned which = (shape >> 3) & 7;
    if (which < 4)
        snprintf(c.name, sizeof(c.name), "%s", var_names[which]);
    else
        snprintf(c.name, sizeof(c.name), "v%u", (unsigned)next(in));
    if (c.op != CMD_GET && c.op != CMD_DEL)
        c.arg1 = pick_value(in);
    if (c.op == CMD_CAS)
        c.arg2 = pick_value(in);
    CHECK(command_format(&c, text, sizeof(text)) > 0);
    if (c.op == CMD_GET && (shape & 0x40))
        snprintf(text, sizeof(text), "get\t %s ", c.name); /* the other spelling, with blanks */
    bool retry = (shape & 0x80) != 0;
    int n = sm_encode_command(payload, sizeof(payload), id, seq, retry, text);
    CHECK(n > 0);

    bool present;
    int64_t cur = sm_get(run->a, c.name, &present);
    struct model_session *s = &run->sess[who % N_CLIENTS];
    bool fresh = s->known ? seq > s->last_seq : seq <= 1;

    struct sm_result r = apply(run, (const uint8_t *)payload, (size_t)n);
    if (!fresh || !run->model_on)
        return;
    bool ok;
    int64_t result;
    const char *error;
    expect(&c, cur, &ok, &result, &error);
    CHECK(r.ok == ok && r.result == result && strcmp(r.error, error) == 0);
    bool now_present;
    int64_t now = sm_get(run->a, c.name, &now_present);
    if (c.op == CMD_DEL)
        CHECK(!now_present);
    else if (ok && c.op != CMD_GET)
        CHECK(now_present && now == result);
    else
        CHECK(now_present == present && now == cur); /* failures and reads change nothing */
}

/* Encode A, decode into a fresh machine, encode again: same bytes. The fresh machine
 * becomes B, which from now on must behave exactly like A. */
static void snapshot_round_trip(struct run *run)
{
    uint8_t *p, *q;
    size_t n, m;
    char err[256];
    struct state_machine *c = sm_new();
    CHECK(c != NULL);
    snapshot(run->a, &p, &n);
    CHECK(sm_snapshot_decode(c, p, n, err, sizeof(err)) == 0);
    snapshot(c, &q, &m);
    CHECK(n == m && memcmp(p, q, n) == 0);
    CHECK(sm_last_applied(c) == sm_last_applied(run->a) && sm_count(c) == sm_count(run->a) &&
          sm_session_count(c) == sm_session_count(run->a));
    free(p);
    free(q);
    sm_free(run->b);
    run->b = c;
}

/* An index that is not above last applied is refused and changes nothing. */
static void stale_index(struct run *run)
{
    uint8_t *before, *after;
    size_t n, m;
    struct sm_result r;
    static const char payload[] = "c0 9 x set 1";
    snapshot(run->a, &before, &n);
    CHECK(sm_apply(run->a, run->index, (const uint8_t *)payload, sizeof(payload) - 1, &r) == -1);
    CHECK(sm_apply_noop(run->a, run->index) == -1);
    snapshot(run->a, &after, &m);
    CHECK(n == m && memcmp(before, after, n) == 0);
    free(before);
    free(after);
}

/* Each op byte: low 3 bits say what, the next 2 how far the index jumps (gaps are legal:
 * noops and other entries the machine never sees). */
static void run_program(struct input *in)
{
    struct run run;
    memset(&run, 0, sizeof(run));
    run.model_on = true;
    run.a = sm_new();
    CHECK(run.a != NULL);

    while (in->len > 0) {
        uint8_t op = next(in);
        if ((op & 7) < 6) /* ops 6 and 7 apply nothing */
            run.index += 1 + ((op >> 3) & 3);
        switch (op & 7) {
        case 0:
        case 1: { /* raw payload bytes */
            size_t len = next(in);
            if (len > in->len)
                len = in->len;
            apply(&run, in->p, len);
            in->p += len;
            in->len -= len;
            break;
        }
        case 2:
        case 3:
        case 4:
            apply_structured(&run, in);
            break;
        case 5:
            CHECK(sm_apply_noop(run.a, run.index) == 0);
            if (run.b != NULL)
                CHECK(sm_apply_noop(run.b, run.index) == 0);
            break;
        case 6: /* each costs whole-state encodes: a few per input find as much */
            if (++run.heavy_ops <= MAX_HEAVY_OPS)
                snapshot_round_trip(&run);
            break;
        case 7:
            if (++run.heavy_ops <= MAX_HEAVY_OPS)
                stale_index(&run);
            break;
        }
    }
    if (run.b != NULL)
        CHECK(same_snapshot(run.a, run.b));
    snapshot_round_trip(&run);
    sm_free(run.a);
    sm_free(run.b);
}

/* Untrusted snapshot bytes: refused, or accepted and canonical. */
static void decode_snapshot(const uint8_t *p, size_t n)
{
    char err[256];
    struct state_machine *sm = sm_new();
    CHECK(sm != NULL);
    err[0] = '\0';
    if (sm_snapshot_decode(sm, p, n, err, sizeof(err)) != 0) {
        CHECK(err[0] != '\0');
        CHECK(sm_last_applied(sm) == 0 && sm_count(sm) == 0); /* left unchanged */
    } else if (n >= 8 && p[4] == SM_SNAPSHOT_VERSION_SORTED && p[5] == 0 && p[6] == 0 &&
               p[7] == 0) {
        /* The old format is read but written as the current one, which must then be
         * canonical: decoding it and encoding again gives the same bytes. */
        uint8_t *q, *q2;
        size_t m, m2;
        snapshot(sm, &q, &m);
        struct state_machine *again = sm_new();
        CHECK(again != NULL);
        CHECK(sm_snapshot_decode(again, q, m, err, sizeof(err)) == 0);
        CHECK(sm_count(again) == sm_count(sm) && sm_last_applied(again) == sm_last_applied(sm));
        snapshot(again, &q2, &m2);
        CHECK(m2 == m && memcmp(q, q2, m) == 0);
        free(q);
        free(q2);
        sm_free(again);
    } else {
        uint8_t *q;
        size_t m;
        snapshot(sm, &q, &m);
        CHECK(m == n && memcmp(p, q, n) == 0);
        free(q);
    }
    sm_free(sm);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    struct input in = {data + 1, size - 1};
    switch (data[0] % 4) {
    case 0:
        decode_snapshot(in.p, in.len);
        break;
    case 1: {
        /* Header "RVSM", version 1, total length; CRC-32 trailer. */
        uint8_t *p = malloc(in.len ? in.len : 1);
        CHECK(p != NULL);
        memcpy(p, in.p, in.len);
        if (in.len >= 36) {
            memcpy(p, "RVSM", 4);
            for (int i = 0; i < 4; i++)
                p[4 + i] = (uint8_t)(SM_SNAPSHOT_VERSION >> (8 * i));
            for (int i = 0; i < 8; i++)
                p[8 + i] = (uint8_t)((uint64_t)in.len >> (8 * i));
            uint32_t crc = sm_snapshot_crc32(p, in.len - 4);
            for (int i = 0; i < 4; i++)
                p[in.len - 4 + i] = (uint8_t)(crc >> (8 * i));
        }
        decode_snapshot(p, in.len);
        free(p);
        break;
    }
    default:
        run_program(&in);
        break;
    }
    return 0;
}
