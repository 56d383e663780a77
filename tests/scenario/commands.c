/* commands.c: the commands that drive a booted cluster (time, network, faults,
 * proposals, reads, membership), and the dispatch of every command line. */
#include "tests/scenario/commands.h"

#include <inttypes.h>
#include <stdint.h>
#include <string.h>

#include "tests/scenario/args.h"
#include "tests/scenario/bounds.h"
#include "tests/scenario/clock.h"
#include "tests/scenario/disk.h"
#include "tests/scenario/expect.h"
#include "tests/scenario/network.h"
#include "tests/scenario/output.h"
#include "tests/scenario/peer.h"

static int cmd_tick(struct cluster *c, char **tok, int ntok)
{
    raft_id id;
    uint64_t ms;
    if (ntok != 3 || parse_peer(c, tok[1], true, &id) != 0 || parse_u64(tok[2], &ms) != 0 ||
        ms > SC_MAX_MS)
        return fail(c, "usage: tick P|all MS (MS at most %u)", SC_MAX_MS);
    for (int i = 1; i <= c->n; i++) {
        struct peer *p = &c->peers[i];
        if ((id != 0 && i != id) || !p->r)
            continue;
        if (peer_advance(p, p->now + ms) != 0)
            return -1;
    }
    if (id != 0 && !c->peers[id].r)
        return fail(c, "peer %d is down", id);
    return 0;
}

static int cmd_crash(struct cluster *c, struct peer *p)
{
    raft_free(p->r);
    p->r = NULL;
    drop_held(p);
    /* Messages already on the wire to it are lost; those it sent may still arrive. */
    struct filter f = {.from = 0, .to = p->id};
    return net_drop(c, &f);
}

static int cmd_isolate(struct cluster *c, raft_id id)
{
    for (int i = 1; i <= c->n; i++) {
        if (i == id)
            continue;
        c->cut[id][i] = c->cut[i][id] = true;
    }
    struct filter from = {.from = id, .to = 0}, to = {.from = 0, .to = id};
    return net_drop(c, &from) != 0 ? -1 : net_drop(c, &to);
}

/* Cuts the link between a and b both ways; messages already on it are lost. */
static int cmd_cut(struct cluster *c, char **tok, int ntok)
{
    raft_id a, b;
    if (ntok != 3 || parse_peer(c, tok[1], false, &a) != 0 ||
        parse_peer(c, tok[2], false, &b) != 0 || a == b)
        return fail(c, "usage: cut A B (two different peers)");
    c->cut[a][b] = c->cut[b][a] = true;
    struct filter ab = {.from = a, .to = b}, ba = {.from = b, .to = a};
    return net_drop(c, &ab) != 0 ? -1 : net_drop(c, &ba);
}

/* The daemon saw P's connection to Q close (raft_peer_disconnected); no link is cut. */
static int cmd_disconnect(struct cluster *c, char **tok, int ntok)
{
    raft_id q;
    if (ntok != 3 || parse_peer(c, tok[2], false, &q) != 0)
        return fail(c, "usage: disconnect P Q (P hears that its connection to Q closed)");
    struct peer *p = running_peer(c, tok[1]);
    if (!p)
        return -1;
    if (p->id == q)
        return fail(c, "usage: disconnect P Q (two different peers)");
    raft_peer_disconnected(p->r, q);
    return peer_settle(p);
}

/* The daemon on leader L dropped what it had queued for F (raft_peer_unreachable). */
static int cmd_unreachable(struct cluster *c, char **tok, int ntok)
{
    raft_id f;
    if (ntok != 3 || parse_peer(c, tok[2], false, &f) != 0)
        return fail(c, "usage: unreachable L F (L dropped the messages it had queued for F)");
    struct peer *p = running_peer(c, tok[1]);
    if (!p)
        return -1;
    if (p->id == f)
        return fail(c, "usage: unreachable L F (two different peers)");
    raft_peer_unreachable(p->r, f);
    return peer_settle(p);
}

static int cmd_propose(struct cluster *c, char **tok, int ntok)
{
    if (ntok != 3)
        return fail(c, "usage: propose P DATA (one word)");
    struct peer *p = running_peer(c, tok[1]);
    if (!p)
        return -1;
    raft_index idx = 0;
    int rc = raft_propose(p->r, tok[2], (uint32_t)strlen(tok[2]), &idx);
    if (rc == RAFT_OK)
        text_printf(c->out, "%d appends %s at index %" PRIu64 "\n", p->id, tok[2], idx);
    else
        text_printf(c->out, "%d refuses %s: %s\n", p->id, tok[2], raft_strerror(rc));
    return peer_settle(p);
}

/* add|promote|remove LEADER PEER: raft_change_membership (docs/MEMBERSHIP.md). */
static int cmd_membership(struct cluster *c, char **tok, int ntok)
{
    enum raft_change op = strcmp(tok[0], "add") == 0       ? RAFT_CHANGE_ADD_LEARNER
                          : strcmp(tok[0], "promote") == 0 ? RAFT_CHANGE_PROMOTE
                                                           : RAFT_CHANGE_REMOVE;
    raft_id id;
    if (ntok != 3 || parse_peer(c, tok[2], false, &id) != 0)
        return fail(c, "usage: %s LEADER PEER", tok[0]);
    struct peer *p = running_peer(c, tok[1]);
    if (!p)
        return -1;
    raft_index idx = 0;
    int rc = raft_change_membership(p->r, op, id, &idx);
    if (rc == RAFT_OK)
        text_printf(c->out, "%d appends %s %d at index %" PRIu64 "\n", p->id, raft_change_name(op),
                    id, idx);
    else
        text_printf(c->out, "%d refuses %s %d: %s\n", p->id, raft_change_name(op), id,
                    raft_strerror(rc));
    return peer_settle(p);
}

static int cmd_read(struct cluster *c, char **tok, int ntok)
{
    uint64_t ctx;
    if (ntok != 3 || parse_u64(tok[2], &ctx) != 0)
        return fail(c, "usage: read P CTX");
    struct peer *p = running_peer(c, tok[1]);
    if (!p)
        return -1;
    if (read_find(p, ctx))
        return fail(c, "read %" PRIu64 " already used on peer %d", ctx, p->id);
    if (p->n_reads == SC_MAX_READS)
        return fail(c, "too many reads on peer %d", p->id);
    int rc = raft_read_index(p->r, ctx);
    if (rc != RAFT_OK) {
        text_printf(c->out, "%d refuses read %" PRIu64 ": %s\n", p->id, ctx, raft_strerror(rc));
        return peer_settle(p);
    }
    p->reads[p->n_reads++] = (struct read_req){.ctx = ctx, .state = READ_PENDING};
    return peer_settle(p);
}

/* Runs one command line (already split into tokens), printing into c->out. */
int run_command(struct cluster *c, char **tok, int ntok)
{
    const char *cmd = tok[0];
    if (strcmp(cmd, "cluster") == 0)
        return cmd_cluster(c, tok, ntok);
    if (strcmp(cmd, "log") == 0 || strcmp(cmd, "term") == 0 || strcmp(cmd, "vote") == 0 ||
        strcmp(cmd, "timeout") == 0)
        return cmd_setup(c, tok, ntok);
    if (strcmp(cmd, "events") == 0) {
        if (ntok != 2 || (strcmp(tok[1], "on") != 0 && strcmp(tok[1], "off") != 0))
            return fail(c, "usage: events on|off");
        c->events = strcmp(tok[1], "on") == 0;
        return 0;
    }
    if (cluster_boot(c) != 0)
        return -1;
    if (strcmp(cmd, "boot") == 0)
        return ntok == 1 ? 0 : fail(c, "usage: boot");
    if (strcmp(cmd, "tick") == 0)
        return cmd_tick(c, tok, ntok);
    if (strcmp(cmd, "campaign") == 0) {
        struct peer *p = ntok == 2 ? running_peer(c, tok[1]) : NULL;
        if (!p)
            return ntok == 2 ? -1 : fail(c, "usage: campaign P");
        return peer_campaign(p);
    }
    if (strcmp(cmd, "deliver") == 0 || strcmp(cmd, "drop") == 0) {
        struct filter f;
        uint64_t max = SIZE_MAX;
        if (ntok > 3 || parse_filter(c, ntok >= 2 ? tok[1] : NULL, &f) != 0 ||
            (ntok == 3 && (parse_u64(tok[2], &max) != 0 || max == 0)))
            return fail(c, "usage: %s [A->B [COUNT]]", cmd);
        if (strcmp(cmd, "drop") == 0) {
            if (ntok == 3)
                return fail(c, "drop takes no count");
            return net_drop(c, &f);
        }
        return net_deliver(c, &f, (size_t)max);
    }
    if (strcmp(cmd, "stabilize") == 0) {
        struct filter all = {0, 0};
        for (int round = 0; c->qlen > 0; round++) {
            if (round >= 1000)
                return fail(c, "the cluster does not stabilize (messages keep coming)");
            if (net_deliver(c, &all, SIZE_MAX) != 0)
                return -1;
        }
        return 0;
    }
    if (strcmp(cmd, "propose") == 0)
        return cmd_propose(c, tok, ntok);
    if (strcmp(cmd, "add") == 0 || strcmp(cmd, "promote") == 0 || strcmp(cmd, "remove") == 0)
        return cmd_membership(c, tok, ntok);
    if (strcmp(cmd, "read") == 0)
        return cmd_read(c, tok, ntok);
    if (strcmp(cmd, "crash") == 0 || strcmp(cmd, "restart") == 0 || strcmp(cmd, "isolate") == 0 ||
        strcmp(cmd, "transfer") == 0) {
        raft_id id;
        if (ntok < 2 || parse_peer(c, tok[1], false, &id) != 0)
            return fail(c, "usage: %s P", cmd);
        struct peer *p = &c->peers[id];
        if (strcmp(cmd, "isolate") == 0)
            return ntok == 2 ? cmd_isolate(c, id) : fail(c, "usage: isolate P");
        if (strcmp(cmd, "restart") == 0) {
            if (p->r)
                return fail(c, "peer %d is already up", id);
            return peer_boot(c, p);
        }
        if (!p->r)
            return fail(c, "peer %d is down", id);
        if (strcmp(cmd, "crash") == 0)
            return cmd_crash(c, p);
        raft_id target;
        if (ntok != 3 || parse_peer(c, tok[2], false, &target) != 0)
            return fail(c, "usage: transfer LEADER TARGET");
        int rc = raft_transfer_leadership(p->r, target);
        if (rc != RAFT_OK)
            text_printf(c->out, "%d refuses transfer to %d: %s\n", id, target, raft_strerror(rc));
        return peer_settle(p);
    }
    if (strcmp(cmd, "cut") == 0)
        return cmd_cut(c, tok, ntok);
    if (strcmp(cmd, "snapshot") == 0)
        return cmd_snapshot(c, tok, ntok);
    if (strcmp(cmd, "compact") == 0)
        return cmd_compact(c, tok, ntok);
    if (strcmp(cmd, "disconnect") == 0)
        return cmd_disconnect(c, tok, ntok);
    if (strcmp(cmd, "unreachable") == 0)
        return cmd_unreachable(c, tok, ntok);
    if (strcmp(cmd, "disk") == 0 || strcmp(cmd, "sync") == 0) {
        bool is_sync = strcmp(cmd, "sync") == 0;
        if (is_sync ? ntok != 2
                    : ntok != 3 || (strcmp(tok[2], "manual") != 0 && strcmp(tok[2], "auto") != 0))
            return fail(c, "usage: disk P manual|auto, sync P");
        struct peer *p = running_peer(c, tok[1]);
        if (!p)
            return -1;
        if (!is_sync)
            p->manual_disk = strcmp(tok[2], "manual") == 0;
        return p->manual_disk && !is_sync ? 0 : peer_sync(p);
    }
    if (strcmp(cmd, "heal") == 0) {
        memset(c->cut, 0, sizeof(c->cut));
        return 0;
    }
    if (strcmp(cmd, "queue") == 0) {
        for (size_t i = 0; i < c->qlen; i++) {
            print_wire(c->out, &c->queue[i].w);
            text_printf(c->out, "\n");
        }
        return 0;
    }
    if (strcmp(cmd, "expect") == 0)
        return cmd_expect(c, tok, ntok);
    return fail(c, "unknown command '%s'", cmd);
}
