/* state_machine.c: applying committed entries (decode, deduplicate, execute)
 * and the snapshot codec. Variables live in kv_store.c, sessions in client_sessions.c. */
#include "raft_peer/sm/state_machine.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/command.h"
#include "raft_peer/sm/client_sessions.h"
#include "raft_peer/sm/kv_store.h"
#include "raft_peer/sm/sm_snapshot.h"
#include "common/error_message.h"

struct state_machine {
    struct kv_store *kv;
    struct sessions *sessions;
    uint64_t last_applied; /* index of the last entry applied, command or not */
};

struct state_machine *sm_new(void)
{
    struct state_machine *sm = calloc(1, sizeof(*sm));
    if (sm == NULL)
        return NULL;
    sm->kv = kv_new();
    sm->sessions = sessions_new(SM_MAX_SESSIONS);
    if (sm->kv == NULL || sm->sessions == NULL) {
        sm_free(sm);
        return NULL;
    }
    return sm;
}

void sm_free(struct state_machine *sm)
{
    if (sm == NULL)
        return;
    kv_free(sm->kv);
    sessions_free(sm->sessions);
    free(sm);
}

/* ---- payload: "<client_id> <seq> <command>" --------------------------------- */

static bool id_char(unsigned char c)
{
    return c >= '!' && c <= '~';
}

/* Command text may hold tabs, since the parser takes them as blanks. */
static bool text_char(unsigned char c)
{
    return (c >= ' ' && c <= '~') || c == '\t';
}

static bool valid_client_id(const char *id)
{
    size_t len = strnlen(id, SM_CLIENT_ID_MAX + 1);
    if (len == 0 || len > SM_CLIENT_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!id_char((unsigned char)id[i]))
            return false;
    return true;
}

int sm_encode_command(char *out, size_t outlen, const char *client_id, uint64_t seq, bool retry,
                      const char *command)
{
    if (out == NULL || outlen == 0)
        return -1;
    out[0] = '\0';
    if (client_id == NULL || command == NULL || !valid_client_id(client_id))
        return -1;
    size_t clen = strnlen(command, SM_COMMAND_MAX + 1);
    if (clen > SM_COMMAND_MAX)
        return -1;
    for (size_t i = 0; i < clen; i++)
        if (!text_char((unsigned char)command[i]))
            return -1;
    const char mark[2] = {retry ? SM_RETRY_MARK : '\0', '\0'};
    int n =
        snprintf(out, outlen, "%s %llu%s %s", client_id, (unsigned long long)seq, mark, command);
    if (n < 0 || (size_t)n >= outlen) {
        out[0] = '\0';
        return -1;
    }
    return n;
}

int sm_decode_command(const uint8_t *data, size_t len, char client_id[SM_CLIENT_ID_MAX + 1],
                      uint64_t *seq, bool *retry, char *command, size_t command_len)
{
    if ((data == NULL && len > 0) || client_id == NULL || seq == NULL || command == NULL)
        return -1;
    size_t i = 0;
    while (i < len && data[i] != ' ') {
        if (i >= SM_CLIENT_ID_MAX || !id_char(data[i]))
            return -1;
        i++;
    }
    size_t id_len = i;
    if (id_len == 0 || i == len)
        return -1;
    i++;

    size_t seq_start = i;
    uint64_t v = 0;
    while (i < len && data[i] >= '0' && data[i] <= '9') {
        unsigned d = data[i] - '0';
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
        i++;
    }
    if (i == seq_start)
        return -1;
    bool marked = i < len && data[i] == SM_RETRY_MARK;
    if (marked)
        i++;
    if (i == len || data[i] != ' ')
        return -1;
    i++;

    size_t text_len = len - i;
    if (text_len > SM_COMMAND_MAX || text_len >= command_len)
        return -1;
    for (size_t j = i; j < len; j++)
        if (!text_char(data[j]))
            return -1;

    memcpy(client_id, data, id_len);
    client_id[id_len] = '\0';
    *seq = v;
    if (retry != NULL)
        *retry = marked;
    memcpy(command, data + i, text_len);
    command[text_len] = '\0';
    return 0;
}

/* ---- executing one command --------------------------------------------------- */

static void fail(struct sm_result *r, const char *code, int64_t result)
{
    r->ok = false;
    r->result = result;
    snprintf(r->error, sizeof(r->error), "%s", code);
}

/* Runs text against the variables. Fills r with the answer, including the
 * command's own errors. -1 only when memory ran out, with nothing changed. */
static int execute(struct kv_store *kv, const char *text, struct sm_result *r)
{
    struct command c;
    char canon[COMMAND_TEXT_MAX];
    memset(r, 0, sizeof(*r));
    if (command_parse(text, &c, r->message, sizeof(r->message)) != 0) {
        fail(r, "bad_command", 0);
        return 0;
    }
    command_format(&c, canon, sizeof(canon));

    int64_t cur = 0;
    kv_get(kv, c.name, &cur); /* unset reads as 0 */
    int64_t next = 0;
    bool overflow = false;
    switch (c.op) {
    case CMD_SET:
        next = c.arg1;
        break;
    case CMD_ADD:
        overflow = __builtin_add_overflow(cur, c.arg1, &next);
        break;
    case CMD_SUB:
        overflow = __builtin_sub_overflow(cur, c.arg1, &next);
        break;
    case CMD_MUL:
        overflow = __builtin_mul_overflow(cur, c.arg1, &next);
        break;
    case CMD_DIV:
        if (c.arg1 == 0) {
            fail(r, "div_by_zero", 0);
            set_err(r->message, sizeof(r->message), "'%s' divides by zero; %s is still %lld", canon,
                    c.name, (long long)cur);
            return 0;
        }
        /* INT64_MIN / -1 is INT64_MAX + 1: undefined in C, an overflow here. */
        overflow = cur == INT64_MIN && c.arg1 == -1;
        if (!overflow)
            next = cur / c.arg1; /* C99 division truncates toward zero, as CONTRACT.md asks */
        break;
    case CMD_CAS:
        if (cur != c.arg1) {
            fail(r, "cas_failed", cur);
            set_err(r->message, sizeof(r->message), "'%s' failed: %s is %lld", canon, c.name,
                    (long long)cur);
            return 0;
        }
        next = c.arg2;
        break;
    case CMD_GET:
        r->ok = true;
        r->result = cur;
        return 0;
    case CMD_DEL:
        kv_del(kv, c.name, NULL);
        r->ok = true;
        r->result = cur;
        return 0;
    }
    if (overflow) {
        fail(r, "overflow", 0);
        set_err(r->message, sizeof(r->message),
                "'%s' would overflow a signed 64-bit integer; %s is still %lld", canon, c.name,
                (long long)cur);
        return 0;
    }
    if (kv_set(kv, c.name, next) != 0)
        return -1;
    r->ok = true;
    r->result = next;
    return 0;
}

/* ---- applying entries -------------------------------------------------------- */

static int refuse_index(const struct state_machine *sm, uint64_t index, struct sm_result *res)
{
    if (res != NULL) {
        memset(res, 0, sizeof(*res));
        set_err(res->message, sizeof(res->message),
                "entry %llu is not after the last applied entry %llu", (unsigned long long)index,
                (unsigned long long)sm->last_applied);
    }
    return -1;
}

/* Whether a client with no session may be one whose session was dropped, in
 * which case its request may already have run and must not run now (dissertation
 * §6.3 rejects requests from expired sessions). Only writes reach the log and use
 * up seqs; a session starts with a write at seq 0 or 1, and a client only sends
 * its next write after the previous one was answered, so a higher seq means a
 * session existed. At seq 0 or 1 only the client knows
 * whether an earlier attempt may have reached a log: it says so with retry. Even
 * then the session can only be gone if one was ever dropped, which needs a full
 * table; sessions are never removed otherwise, so a table below its bound proves
 * the earlier attempt never ran, and the retry runs as a new session. Every input
 * here comes from the log and the replicated state, so every peer decides alike. */
static bool session_may_have_expired(const struct sessions *ss, uint64_t seq, bool retry)
{
    if (seq > 1)
        return true;
    return retry && sessions_full(ss);
}

static void refuse_expired(struct sm_result *r, const char *client_id, uint64_t seq)
{
    fail(r, "session_expired", 0);
    set_err(r->message, sizeof(r->message),
            "the session of %s is gone; request %llu may already have run, so it was not run "
            "again",
            client_id, (unsigned long long)seq);
}

int sm_apply(struct state_machine *sm, uint64_t index, const uint8_t *data, size_t len,
             struct sm_result *res)
{
    char client_id[SM_CLIENT_ID_MAX + 1];
    char text[SM_COMMAND_MAX + 1];
    uint64_t seq;
    bool retry;
    struct sm_result r;

    if (sm == NULL || res == NULL)
        return -1;
    if (index <= sm->last_applied)
        return refuse_index(sm, index, res);
    memset(&r, 0, sizeof(r));

    if (sm_decode_command(data, len, client_id, &seq, &retry, text, sizeof(text)) != 0) {
        fail(&r, "bad_command", 0);
        set_err(r.message, sizeof(r.message),
                "malformed log entry: expected \"<client_id> <seq> <command>\"");
        goto done;
    }

    struct session *s = sessions_find(sm->sessions, client_id);
    if (s == NULL && session_may_have_expired(sm->sessions, seq, retry)) {
        /* Running it could run it twice; answering changes nothing, not even a stamp. */
        refuse_expired(&r, client_id, seq);
        goto done;
    }
    if (s != NULL && seq <= s->last_seq) {
        /* Dissertation §6.3: a command already applied is not run again. */
        if (seq == s->last_seq) {
            r = s->response;
        } else {
            fail(&r, "stale_seq", 0);
            set_err(r.message, sizeof(r.message),
                    "request %llu of %s was already applied and its answer is no longer kept "
                    "(latest is %llu)",
                    (unsigned long long)seq, client_id, (unsigned long long)s->last_seq);
        }
        sessions_touch(sm->sessions, s, index);
        goto done;
    }

    struct session *fresh = NULL;
    if (s == NULL) {
        fresh = session_alloc(client_id);
        if (fresh == NULL)
            goto out_of_memory;
    }
    if (execute(sm->kv, text, &r) != 0) {
        free(fresh);
        goto out_of_memory;
    }
    if (fresh != NULL) {
        sessions_insert(sm->sessions, fresh, index);
        s = fresh;
    } else {
        sessions_touch(sm->sessions, s, index);
    }
    s->last_seq = seq;
    s->response = r;

done:
    sm->last_applied = index;
    *res = r;
    return 0;

out_of_memory:
    memset(res, 0, sizeof(*res));
    set_err(res->message, sizeof(res->message), "out of memory applying entry %llu",
            (unsigned long long)index);
    return -1;
}

int sm_apply_noop(struct state_machine *sm, uint64_t index)
{
    if (sm == NULL || index <= sm->last_applied)
        return -1;
    sm->last_applied = index;
    return 0;
}

int64_t sm_get(const struct state_machine *sm, const char *name, bool *present)
{
    int64_t v = 0;
    bool found = sm != NULL && name != NULL && kv_get(sm->kv, name, &v);
    if (present != NULL)
        *present = found;
    return found ? v : 0;
}

size_t sm_count(const struct state_machine *sm)
{
    return kv_count(sm->kv);
}

size_t sm_session_count(const struct state_machine *sm)
{
    return sessions_count(sm->sessions);
}

void sm_foreach(const struct state_machine *sm,
                void (*fn)(void *ctx, const char *name, int64_t value), void *ctx)
{
    if (kv_foreach_sorted(sm->kv, fn, ctx) != 0)
        kv_foreach(sm->kv, fn, ctx);
}

uint64_t sm_last_applied(const struct state_machine *sm)
{
    return sm->last_applied;
}

int sm_snapshot_encode(const struct state_machine *sm, uint8_t **out, size_t *outlen)
{
    if (sm == NULL || out == NULL || outlen == NULL)
        return -1;
    return sm_snapshot_write(sm->kv, sm->sessions, sm->last_applied, out, outlen);
}

int sm_snapshot_decode(struct state_machine *sm, const uint8_t *data, size_t len, char *err,
                       size_t errlen)
{
    struct kv_store *kv;
    struct sessions *ss;
    uint64_t applied;
    if (sm == NULL) {
        set_err(err, errlen, "no state machine");
        return -1;
    }
    if (sm_snapshot_read(data, len, &kv, &ss, &applied, err, errlen) != 0)
        return -1;
    kv_free(sm->kv);
    sessions_free(sm->sessions);
    sm->kv = kv;
    sm->sessions = ss;
    sm->last_applied = applied;
    return 0;
}

void sm_snapshot_adopt(struct state_machine *sm, struct sm_snapshot_reader *rd)
{
    struct kv_store *kv;
    struct sessions *ss;
    uint64_t applied;
    sm_snapshot_reader_take(rd, &kv, &ss, &applied);
    kv_free(sm->kv);
    sessions_free(sm->sessions);
    sm->kv = kv;
    sm->sessions = ss;
    sm->last_applied = applied;
}
