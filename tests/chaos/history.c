/* history.c: see history.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error_message.h"
#include "tests/chaos/history.h"

#define HISTORY_HEADER                                                                             \
    "# raft_chaos history v1: client seq key op a b outcome result call_us return_us bound_us "    \
    "attempts error"
#define HISTORY_LINE_MAX 512

static const char *const kind_names[] = {"get", "set", "add", "cas"};
static const char *const outcome_names[] = {"ok", "failed", "unknown"};

int history_append(struct history *h, const struct chaos_op *op)
{
    if (h->len == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 1024;
        struct chaos_op *grown = realloc(h->ops, cap * sizeof(*grown));
        if (!grown)
            return -1;
        h->ops = grown;
        h->cap = cap;
    }
    h->ops[h->len++] = *op;
    return 0;
}

int history_extend(struct history *h, const struct history *src)
{
    for (size_t i = 0; i < src->len; i++)
        if (history_append(h, &src->ops[i]) != 0)
            return -1;
    return 0;
}

void history_free(struct history *h)
{
    free(h->ops);
    memset(h, 0, sizeof(*h));
}

bool history_is_write(const struct chaos_op *op)
{
    return op->kind != LIN_GET;
}

void history_bound_unknowns(struct history *h)
{
    /* Per client, walk its ops from the last to the first, remembering when its latest
     * applied write returned. Ops of one client are in call order in any history. A
     * session_expired answer ends a session: the writes after it use a new client_id,
     * whose seqs fence nothing of the old one, so they bound none of the ops before. */
    for (int client = 0; client <= HISTORY_MAX_CLIENT; client++) {
        uint64_t next_applied = HISTORY_NO_BOUND;
        for (size_t k = h->len; k-- > 0;) {
            struct chaos_op *op = &h->ops[k];
            if (op->client != client || !history_is_write(op))
                continue;
            if (!strcmp(op->error, "session_expired"))
                next_applied = HISTORY_NO_BOUND;
            if (op->outcome == LIN_UNKNOWN) {
                op->bound_us = next_applied;
            } else if (op->outcome == LIN_OK ||
                       (op->outcome == LIN_FAILED && !strcmp(op->error, "cas_failed"))) {
                next_applied = op->return_us;
            }
        }
    }
}

static void u64_or_dash(char *out, size_t len, bool present, uint64_t v)
{
    if (present)
        snprintf(out, len, "%" PRIu64, v);
    else
        snprintf(out, len, "-");
}

int history_save(const struct history *h, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        set_err(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    fprintf(f, "%s\n", HISTORY_HEADER);
    for (size_t i = 0; i < h->len; i++) {
        const struct chaos_op *op = &h->ops[i];
        char result[32], bound[32];
        if (op->has_result)
            snprintf(result, sizeof(result), "%" PRId64, op->result);
        else
            snprintf(result, sizeof(result), "-");
        u64_or_dash(bound, sizeof(bound), op->bound_us != HISTORY_NO_BOUND, op->bound_us);
        fprintf(f,
                "%d %" PRIu64 " %s %s %" PRId64 " %" PRId64 " %s %s %" PRIu64 " %" PRIu64
                " %s %d %s\n",
                op->client, op->seq, op->key, kind_names[op->kind], op->a, op->b,
                outcome_names[op->outcome], result, op->call_us, op->return_us, bound, op->attempts,
                op->error[0] ? op->error : "-");
    }
    if (fclose(f) != 0) {
        set_err(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int parse_i64(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end)
        return -1;
    *out = v;
    return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (*s == '-' || *s == '+')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end)
        return -1;
    *out = v;
    return 0;
}

static int find_name(const char *const *names, int count, const char *s)
{
    for (int i = 0; i < count; i++)
        if (!strcmp(names[i], s))
            return i;
    return -1;
}

static bool valid_key(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > HISTORY_KEY_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
            return false;
    }
    return true;
}

/* One saved line into op. 0, or -1 with what is wrong. */
static int parse_line(char *line, struct chaos_op *op, char *what, size_t whatlen)
{
    char *f[13];
    int n = 0;
    for (char *save = NULL, *t = strtok_r(line, " \n", &save); t; t = strtok_r(NULL, " \n", &save))
        if (n < 13)
            f[n++] = t;
        else
            n = 14;
    if (n != 13) {
        set_err(what, whatlen, "expected 13 fields");
        return -1;
    }
    memset(op, 0, sizeof(*op));
    int64_t client, attempts;
    int kind = find_name(kind_names, 4, f[3]), outcome = find_name(outcome_names, 3, f[6]);
    if (parse_i64(f[0], &client) != 0 || client < 0 || client > HISTORY_MAX_CLIENT) {
        set_err(what, whatlen, "bad client '%s'", f[0]);
        return -1;
    }
    op->client = (int)client;
    if (parse_u64(f[1], &op->seq) != 0 || !valid_key(f[2]) || kind < 0 || outcome < 0) {
        set_err(what, whatlen, "bad seq, key, op or outcome");
        return -1;
    }
    snprintf(op->key, sizeof(op->key), "%s", f[2]);
    op->kind = (enum lin_kind)kind;
    op->outcome = (enum lin_outcome)outcome;
    if (parse_i64(f[4], &op->a) != 0 || parse_i64(f[5], &op->b) != 0) {
        set_err(what, whatlen, "bad arguments");
        return -1;
    }
    op->has_result = strcmp(f[7], "-") != 0;
    if (op->has_result && parse_i64(f[7], &op->result) != 0) {
        set_err(what, whatlen, "bad result '%s'", f[7]);
        return -1;
    }
    op->bound_us = HISTORY_NO_BOUND;
    if (parse_u64(f[8], &op->call_us) != 0 || parse_u64(f[9], &op->return_us) != 0 ||
        op->return_us < op->call_us ||
        (strcmp(f[10], "-") != 0 && parse_u64(f[10], &op->bound_us) != 0)) {
        set_err(what, whatlen, "bad times");
        return -1;
    }
    if (parse_i64(f[11], &attempts) != 0 || attempts < 0 || attempts > 1000000) {
        set_err(what, whatlen, "bad attempts '%s'", f[11]);
        return -1;
    }
    op->attempts = (int)attempts;
    if (strcmp(f[12], "-") != 0) {
        if (strlen(f[12]) >= sizeof(op->error)) {
            set_err(what, whatlen, "error code too long");
            return -1;
        }
        snprintf(op->error, sizeof(op->error), "%s", f[12]);
    }
    return 0;
}

int history_load(struct history *h, const char *path, char *err, size_t errlen)
{
    memset(h, 0, sizeof(*h));
    FILE *f = fopen(path, "r");
    if (!f) {
        set_err(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char line[HISTORY_LINE_MAX];
    int rc = 0;
    for (size_t lineno = 1; fgets(line, sizeof(line), f); lineno++) {
        size_t len = strlen(line);
        if (len == sizeof(line) - 1 && line[len - 1] != '\n') {
            set_err(err, errlen, "%s:%zu: line too long", path, lineno);
            rc = -1;
            break;
        }
        if (line[0] == '#' || line[0] == '\n')
            continue;
        struct chaos_op op;
        char what[128];
        if (parse_line(line, &op, what, sizeof(what)) != 0) {
            set_err(err, errlen, "%s:%zu: %s", path, lineno, what);
            rc = -1;
            break;
        }
        if (history_append(h, &op) != 0) {
            set_err(err, errlen, "%s: out of memory", path);
            rc = -1;
            break;
        }
    }
    if (rc == 0 && ferror(f)) {
        set_err(err, errlen, "%s: read error", path);
        rc = -1;
    }
    fclose(f);
    if (rc != 0)
        history_free(h);
    return rc;
}
