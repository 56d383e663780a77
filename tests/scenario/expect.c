/* expect.c: `expect` lines: what must hold of the cluster at that point. They print
 * nothing; a false one fails the scenario. */
#include "tests/scenario/expect.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/scenario/args.h"
#include "tests/scenario/output.h"
#include "tests/scenario/peer.h"

/* A log as the scenario writes it: "compacted=I/T" when entries up to I (term T) live
 * on only in a snapshot, then the term of each entry after. */
static void print_log(struct text *t, raft_index base, raft_term base_term, const raft_term *ts,
                      size_t n)
{
    if (base > 0)
        text_printf(t, "compacted=%" PRIu64 "/%" PRIu64 "%s", base, base_term, n ? " " : "");
    print_terms(t, ts, n);
}

/* What P's core (or, with disk, P's disk) holds, printed as print_log does. */
static void render_log(struct peer *p, bool disk, struct text *got)
{
    raft_index base = disk ? p->disk.base : raft_snapshot_index(p->r);
    raft_term base_term = disk ? p->disk.base_term : raft_snapshot_term(p->r);
    size_t n = disk ? p->disk.n : (size_t)(raft_last_index(p->r) - base);
    raft_term *ts = calloc(n + 1, sizeof(*ts));
    if (!ts)
        abort();
    for (size_t k = 0; k < n; k++)
        ts[k] = disk ? p->disk.entries[k].term : raft_term_at(p->r, base + 1 + k);
    print_log(got, base, base_term, ts, n);
    free(ts);
}

static int expect_log(struct cluster *c, char **tok, int ntok, bool disk)
{
    raft_id id;
    raft_term *want;
    size_t nwant;
    uint64_t base = 0, base_term = 0;
    if (ntok < 3 || parse_peer(c, tok[2], true, &id) != 0)
        return fail(c, "usage: expect %s P|all: [compacted=I/T] TERMS...", tok[1]);
    int first = 3;
    if (ntok > 3 && strncmp(tok[3], "compacted=", 10) == 0) {
        if (parse_index_term(tok[3] + 10, &base, &base_term) != 0 || base == 0)
            return fail(c, "bad '%s': want compacted=INDEX/TERM", tok[3]);
        first = 4;
    }
    if (parse_terms(c, tok + first, ntok - first, &want, &nwant) != 0)
        return -1;
    struct text w = {0};
    print_log(&w, base, base_term, want, nwant);
    free(want);
    const char *ws = w.buf ? w.buf : "";
    int rc = 0;
    for (int i = 1; i <= c->n && rc == 0; i++) {
        struct peer *p = &c->peers[i];
        if (id != 0 && i != id)
            continue;
        if (!disk && !p->r) {
            if (id != 0)
                rc = fail(c, "peer %d is down", i);
            continue;
        }
        struct text got = {0};
        render_log(p, disk, &got);
        const char *gs = got.buf ? got.buf : "";
        if (strcmp(ws, gs) != 0)
            rc = fail(c, "peer %d %s: want [%s], got [%s]", i, disk ? "disk" : "log", ws, gs);
        text_free(&got);
    }
    text_free(&w);
    return rc;
}

/* The snapshot on P's disk (also while P is down), 0/0 for none. */
static int expect_snapshot(struct cluster *c, char **tok, int ntok)
{
    raft_id id;
    uint64_t index, term;
    if (ntok != 4 || parse_peer(c, tok[2], false, &id) != 0 ||
        parse_index_term(tok[3], &index, &term) != 0)
        return fail(c, "usage: expect snapshot P INDEX/TERM (0/0: none)");
    const struct disk_snapshot *s = &c->peers[id].disk.snap;
    if (s->index != index || s->term != term)
        return fail(c, "peer %d snapshot: want %" PRIu64 "/%" PRIu64 ", got %" PRIu64 "/%" PRIu64,
                    id, index, term, s->index, s->term);
    return 0;
}

static int expect_read(struct cluster *c, char **tok, int ntok)
{
    uint64_t ctx;
    if (ntok != 5 || parse_u64(tok[3], &ctx) != 0)
        return fail(c, "usage: expect read P CTX pending|waiting|served|failed");
    struct peer *p = running_peer(c, tok[2]);
    if (!p)
        return -1;
    static const char *const names[] = {"pending", "waiting", "served", "failed"};
    struct read_req *rq = read_find(p, ctx);
    if (!rq)
        return fail(c, "peer %d has no read %" PRIu64, p->id, ctx);
    if (strcmp(names[rq->state], tok[4]) != 0)
        return fail(c, "peer %d read %" PRIu64 ": want %s, got %s", p->id, ctx, tok[4],
                    names[rq->state]);
    return 0;
}

static int expect_progress(struct cluster *c, char **tok, int ntok)
{
    uint64_t next, match;
    raft_id fid;
    if (ntok != 6 || parse_peer(c, tok[3], false, &fid) != 0 || strncmp(tok[4], "next=", 5) != 0 ||
        parse_u64(tok[4] + 5, &next) != 0 || strncmp(tok[5], "match=", 6) != 0 ||
        parse_u64(tok[5] + 6, &match) != 0)
        return fail(c, "usage: expect progress LEADER FOLLOWER next=N match=M");
    struct peer *p = running_peer(c, tok[2]);
    if (!p)
        return -1;
    raft_index gn = 0, gm = 0;
    if (!raft_progress(p->r, fid, &gn, &gm))
        return fail(c, "peer %d has no progress for %d (not leader?)", p->id, fid);
    if (gn != next || gm != match)
        return fail(c,
                    "progress of %d at %d: want next=%" PRIu64 " match=%" PRIu64
                    ", got next=%" PRIu64 " match=%" PRIu64,
                    fid, p->id, next, match, gn, gm);
    return 0;
}

/* Numeric expectations on one peer or on all running peers. */
static int expect_value(struct cluster *c, char **tok, int ntok)
{
    const char *what = tok[1];
    raft_id id;
    if (ntok != 4 || parse_peer(c, tok[2], true, &id) != 0)
        return fail(c, "usage: expect %s P|all VALUE", what);
    for (int i = 1; i <= c->n; i++) {
        struct peer *p = &c->peers[i];
        if (id != 0 && i != id)
            continue;
        if (!p->r) {
            if (id != 0)
                return fail(c, "peer %d is down", i);
            continue;
        }
        char got[64];
        if (strcmp(what, "role") == 0)
            snprintf(got, sizeof(got), "%s", raft_role_name(raft_role(p->r)));
        else if (strcmp(what, "term") == 0)
            snprintf(got, sizeof(got), "%" PRIu64, raft_current_term(p->r));
        else if (strcmp(what, "vote") == 0)
            snprintf(got, sizeof(got), "%d", raft_voted_for(p->r));
        else if (strcmp(what, "leader") == 0)
            snprintf(got, sizeof(got), "%d", raft_leader(p->r));
        else if (strcmp(what, "commit") == 0)
            snprintf(got, sizeof(got), "%" PRIu64, raft_commit_index(p->r));
        else if (strcmp(what, "applied") == 0)
            snprintf(got, sizeof(got), "%" PRIu64, p->applied);
        else if (strcmp(what, "last") == 0)
            snprintf(got, sizeof(got), "%" PRIu64, raft_last_index(p->r));
        else if (strcmp(what, "pending") == 0)
            snprintf(got, sizeof(got), "%s", raft_configuration_pending(p->r) ? "yes" : "no");
        else if (strcmp(what, "config") == 0) {
            struct text conf = {0};
            print_configuration(&conf, raft_configuration(p->r));
            snprintf(got, sizeof(got), "%s", conf.buf);
            text_free(&conf);
        } else
            return fail(c, "unknown expectation '%s'", what);
        if (strcmp(got, tok[3]) != 0)
            return fail(c, "peer %d %s: want %s, got %s", i, what, tok[3], got);
    }
    return 0;
}

/* The state machine of P (or of every running peer): the commands it applied, or
 * loaded from a snapshot, in order. */
static int expect_commands(struct cluster *c, char **tok, int ntok)
{
    raft_id id;
    if (ntok < 3 || parse_peer(c, tok[2], true, &id) != 0)
        return fail(c, "usage: expect commands P|all: CMD...");
    if (id != 0 && !running_peer(c, tok[2]))
        return -1;
    struct text want = {0};
    for (int i = 3; i < ntok; i++)
        text_printf(&want, "%s\n", tok[i]);
    const char *w = want.buf ? want.buf : "";
    int rc = 0;
    for (int i = 1; i <= c->n && rc == 0; i++) {
        struct peer *p = &c->peers[i];
        if ((id != 0 && i != id) || !p->r)
            continue;
        const char *g = p->cmds.buf ? p->cmds.buf : "";
        if (strcmp(w, g) != 0)
            rc = fail(c, "peer %d applied commands differ: want\n%sgot\n%s", p->id, w, g);
    }
    text_free(&want);
    return rc;
}

int cmd_expect(struct cluster *c, char **tok, int ntok)
{
    if (ntok < 2)
        return fail(c, "usage: expect WHAT ...");
    if (strcmp(tok[1], "log") == 0)
        return expect_log(c, tok, ntok, false);
    if (strcmp(tok[1], "disk") == 0)
        return expect_log(c, tok, ntok, true);
    if (strcmp(tok[1], "read") == 0)
        return expect_read(c, tok, ntok);
    if (strcmp(tok[1], "snapshot") == 0)
        return expect_snapshot(c, tok, ntok);
    if (strcmp(tok[1], "progress") == 0)
        return expect_progress(c, tok, ntok);
    if (strcmp(tok[1], "commands") == 0)
        return expect_commands(c, tok, ntok);
    if (strcmp(tok[1], "queue") == 0) {
        uint64_t n;
        if (ntok != 3 || parse_u64(tok[2], &n) != 0)
            return fail(c, "usage: expect queue N");
        if (c->qlen != n)
            return fail(c, "queue: want %" PRIu64 " messages, got %zu", n, c->qlen);
        return 0;
    }
    return expect_value(c, tok, ntok);
}
