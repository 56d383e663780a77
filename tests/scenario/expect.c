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

static int expect_log(struct cluster *c, char **tok, int ntok, bool disk)
{
    raft_id id;
    raft_term *want;
    size_t nwant;
    if (ntok < 3 || parse_peer(c, tok[2], true, &id) != 0)
        return fail(c, "usage: expect %s P|all: TERMS...", tok[1]);
    if (parse_terms(c, tok + 3, ntok - 3, &want, &nwant) != 0)
        return -1;
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
        size_t ngot;
        bool same;
        if (disk) {
            ngot = p->disk.n;
            same = ngot == nwant;
            for (size_t k = 0; k < ngot; k++) {
                text_printf(&got, "%s%" PRIu64, k ? " " : "", p->disk.entries[k].term);
                same = same && p->disk.entries[k].term == want[k];
            }
        } else {
            raft_index first = raft_first_index(p->r), last = raft_last_index(p->r);
            ngot = last >= first ? (size_t)(last - first + 1) : 0;
            same = first == 1 && ngot == nwant;
            for (raft_index k = first; k <= last; k++) {
                raft_term t = raft_term_at(p->r, k);
                text_printf(&got, "%s%" PRIu64, k > first ? " " : "", t);
                same = same && k - 1 < nwant && t == want[k - 1];
            }
        }
        if (!same) {
            struct text w = {0};
            print_terms(&w, want, nwant);
            rc = fail(c, "peer %d %s: want [%s], got [%s]", i, disk ? "disk" : "log",
                      w.buf ? w.buf : "", got.buf ? got.buf : "");
            text_free(&w);
        }
        text_free(&got);
    }
    free(want);
    return rc;
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
            snprintf(got, sizeof(got), "%s", role_str(raft_role(p->r)));
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

static int expect_commands(struct cluster *c, char **tok, int ntok)
{
    if (ntok < 3)
        return fail(c, "usage: expect commands P: CMD...");
    struct peer *p = running_peer(c, tok[2]);
    if (!p)
        return -1;
    struct text want = {0};
    for (int i = 3; i < ntok; i++)
        text_printf(&want, "%s\n", tok[i]);
    const char *w = want.buf ? want.buf : "", *g = p->cmds.buf ? p->cmds.buf : "";
    int rc = 0;
    if (strcmp(w, g) != 0)
        rc = fail(c, "peer %d applied commands differ: want\n%sgot\n%s", p->id, w, g);
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
