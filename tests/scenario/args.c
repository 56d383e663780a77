/* args.c: the words of a command line: numbers, peers, A->B filters, logs as terms. */
#include "tests/scenario/args.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int parse_u64(const char *s, uint64_t *out)
{
    if (!s || !isdigit((unsigned char)*s))
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != '\0' || errno == ERANGE)
        return -1;
    *out = v;
    return 0;
}

int parse_index_term(const char *s, uint64_t *index, uint64_t *term)
{
    char buf[64];
    const char *slash = strchr(s, '/');
    if (!slash || (size_t)(slash - s) >= sizeof(buf))
        return -1;
    snprintf(buf, sizeof(buf), "%.*s", (int)(slash - s), s);
    return parse_u64(buf, index) != 0 || parse_u64(slash + 1, term) != 0 ? -1 : 0;
}

/* A peer id; with allow_all, "all" or "*" gives 0. A trailing ':' is allowed. */
int parse_peer(struct cluster *c, const char *s, bool allow_all, raft_id *out)
{
    char buf[32];
    if (!s)
        return fail(c, "missing peer");
    snprintf(buf, sizeof(buf), "%s", s);
    size_t n = strlen(buf);
    if (n > 0 && buf[n - 1] == ':')
        buf[n - 1] = '\0';
    if (allow_all && (strcmp(buf, "all") == 0 || strcmp(buf, "*") == 0)) {
        *out = 0;
        return 0;
    }
    uint64_t v;
    if (parse_u64(buf, &v) != 0 || v < 1 || v > (uint64_t)c->n)
        return fail(c, "bad peer '%s' (cluster has peers 1..%d)", s, c->n);
    *out = (raft_id)v;
    return 0;
}

int parse_filter(struct cluster *c, const char *s, struct filter *f)
{
    f->from = f->to = 0;
    if (!s)
        return 0;
    const char *arrow = strstr(s, "->");
    if (!arrow)
        return fail(c, "bad filter '%s': want A->B, with * for any", s);
    char a[32], b[32];
    snprintf(a, sizeof(a), "%.*s", (int)(arrow - s), s);
    snprintf(b, sizeof(b), "%s", arrow + 2);
    if (parse_peer(c, a, true, &f->from) != 0 || parse_peer(c, b, true, &f->to) != 0)
        return -1;
    return 0;
}

struct peer *running_peer(struct cluster *c, const char *s)
{
    raft_id id;
    if (parse_peer(c, s, false, &id) != 0)
        return NULL;
    if (!c->peers[id].r) {
        fail(c, "peer %d is down", id);
        return NULL;
    }
    return &c->peers[id];
}

/* A log written as the term of each entry, index 1 first. */
int parse_terms(struct cluster *c, char **tok, int ntok, raft_term **out, size_t *n)
{
    raft_term *ts = calloc((size_t)ntok + 1, sizeof(*ts));
    if (!ts)
        abort();
    for (int i = 0; i < ntok; i++) {
        uint64_t v;
        if (parse_u64(tok[i], &v) != 0 || v == 0) {
            free(ts);
            return fail(c, "bad term '%s' in a log", tok[i]);
        }
        ts[i] = v;
    }
    *out = ts;
    *n = (size_t)ntok;
    return 0;
}
