/* snapshots.c: log compaction and snapshot transfers (§7, Figure 13), done for the core
 * as the daemon does them (snapshot_service.c, snapshot_install.c; the simulator's
 * tests/sim/sim_snapshot.c): the state machine is saved at its applied index, the log
 * is compacted up to it, and a leader asked for its snapshot sends it; the follower
 * makes it durable and loads it before it tells the core, and the leader's daemon tells
 * its core how the transfer ended. A transfer travels whole here, in one message. */
#include "tests/scenario/snapshots.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "tests/scenario/disk.h"
#include "tests/scenario/network.h"
#include "tests/scenario/output.h"
#include "tests/scenario/peer.h"

/* State Machine Safety for snapshots: one only ever covers committed entries. */
static int check_committed(struct cluster *c, raft_id id, raft_index index, raft_term term)
{
    if (index < c->n_committed && c->committed[index] != 0 && c->committed[index] != term)
        return fail(c,
                    "state machine safety violated: peer %d holds a snapshot at %" PRIu64
                    " (term %" PRIu64 ") but term %" PRIu64 " was committed there",
                    id, index, term, c->committed[index]);
    return 0;
}

int snapshot_take(struct peer *p)
{
    struct cluster *c = p->c;
    raft_index at = p->applied;
    if (at == 0)
        return fail(c, "peer %d has applied nothing to snapshot", p->id);
    raft_term term = raft_term_at(p->r, at);
    struct raft_configuration conf;
    if (raft_configuration_at(p->r, at, &conf) != RAFT_OK)
        return fail(c, "peer %d: no configuration at its applied index %" PRIu64, p->id, at);
    if (check_committed(c, p->id, at, term) != 0)
        return -1;
    disk_save_snapshot(&p->disk, at, term, &conf, p->cmds.buf);
    text_printf(c->out, "%d takes a snapshot at %" PRIu64 " (term %" PRIu64 ")\n", p->id, at, term);
    return 0;
}

int snapshot_compact(struct peer *p, raft_index index)
{
    struct cluster *c = p->c;
    /* The daemon compacts only what a saved snapshot covers: the rest would be lost. */
    if (index > p->disk.snap.index)
        return fail(c, "peer %d: compact to %" PRIu64 " past its snapshot at %" PRIu64, p->id,
                    index, p->disk.snap.index);
    raft_term term = raft_term_at(p->r, index);
    int rc = raft_compact(p->r, index);
    if (rc != RAFT_OK) {
        text_printf(c->out, "%d refuses compact to %" PRIu64 ": %s\n", p->id, index,
                    raft_strerror(rc));
        return peer_settle(p);
    }
    disk_compact(&p->disk, index, term);
    text_printf(c->out, "%d compacts its log up to %" PRIu64 "\n", p->id, index);
    return peer_settle(p);
}

int snapshot_send_requested(struct peer *p, const struct raft_ready *rd)
{
    struct cluster *c = p->c;
    const struct disk_snapshot *snap = &p->disk.snap;
    for (size_t i = 0; i < rd->n_snapshot_requests; i++) {
        const struct raft_snapshot_request *req = &rd->snapshot_requests[i];
        if (req->to < 1 || req->to > c->n || req->to == p->id)
            return fail(c, "peer %d asks for a snapshot to be sent to %d", p->id, req->to);
        if (snap->index < req->index)
            return fail(c,
                        "peer %d asks to send a snapshot covering %" PRIu64
                        ", but its own covers %" PRIu64,
                        p->id, req->index, snap->index);
        if (snap->index == req->index && (snap->conf.voters != req->configuration.voters ||
                                          snap->conf.learners != req->configuration.learners))
            return fail(
                c, "peer %d asks to send its snapshot at %" PRIu64 " with another configuration",
                p->id, req->index);
        if (p->sending[req->to])
            continue; /* one transfer at a time; the core asks again if it still needs one */
        p->sending[req->to] = true;
        struct wire w = {.kind = WIRE_SNAPSHOT,
                         .from = p->id,
                         .to = req->to,
                         .s = {.term = raft_current_term(p->r),
                               .index = snap->index,
                               .last_term = snap->term,
                               .conf = snap->conf,
                               .state = snap->state,
                               .leader_boot = p->boots}};
        if (net_send_wire(c, &w, p->id) != 0)
            return -1;
    }
    return 0;
}

/* The snapshot becomes the follower's: durable first, then its state machine. */
static int load(struct cluster *c, struct peer *f, const struct wire *w)
{
    if (check_committed(c, f->id, w->s.index, w->s.last_term) != 0)
        return -1;
    disk_save_snapshot(&f->disk, w->s.index, w->s.last_term, &w->s.conf, w->s.state);
    text_free(&f->cmds);
    if (w->s.state && *w->s.state)
        text_printf(&f->cmds, "%s", w->s.state);
    f->applied = w->s.index;
    text_printf(c->out, "%d loads snapshot %" PRIu64 " (term %" PRIu64 ") from %d\n", f->id,
                w->s.index, w->s.last_term, w->from);
    return 0;
}

int snapshot_receive(struct cluster *c, struct peer *f, const struct wire *w)
{
    struct wire res = {.kind = WIRE_SNAPSHOT_RESULT, .from = f->id, .to = w->from, .s = w->s};
    res.s.state = NULL;
    /* Figure 13 step 1 and the term rules, before anything is written. */
    int rc = raft_snapshot_chunk(f->r, w->from, w->s.term, f->now);
    if (rc == RAFT_OK && peer_settle(f) != 0)
        return -1;
    if (rc == RAFT_OK) {
        /* A snapshot no newer than what the core has committed changes nothing. */
        if (w->s.index > raft_commit_index(f->r) && load(c, f, w) != 0)
            return -1;
        rc = raft_install_snapshot(f->r, w->from, w->s.term, w->s.index, w->s.last_term, &w->s.conf,
                                   f->now);
        if (rc != RAFT_OK && rc != RAFT_EINVAL && rc != RAFT_ESTOPPED)
            return fail(c, "peer %d: raft_install_snapshot: %s", f->id, raft_strerror(rc));
    } else if (rc != RAFT_EINVAL && rc != RAFT_ESTOPPED) {
        return fail(c, "peer %d: raft_snapshot_chunk: %s", f->id, raft_strerror(rc));
    }
    res.s.ok = rc == RAFT_OK;
    res.s.term = raft_current_term(f->r);
    if (peer_settle(f) != 0 || net_send_wire(c, &res, f->id) != 0)
        return -1;
    return snapshot_settle_lost(c);
}

int snapshot_result(struct peer *l, const struct wire *w)
{
    if (l->boots != w->s.leader_boot || !l->sending[w->from])
        return 0; /* a transfer of an earlier run of this peer */
    l->sending[w->from] = false;
    if (!w->s.ok)
        raft_observe_term(l->r, w->from, w->s.term);
    raft_snapshot_sent(l->r, w->from, w->s.index, w->s.ok);
    return peer_settle(l);
}

void snapshot_lost(struct cluster *c, const struct wire *w)
{
    if (w->kind == WIRE_RAFT)
        return;
    struct peer *l = &c->peers[wire_leader(w)];
    raft_id f = wire_follower(w);
    if (!l->r || l->boots != w->s.leader_boot || !l->sending[f])
        return;
    l->sending[f] = false;
    l->lost[f] = true;
    l->lost_index[f] = w->s.index;
}

void snapshot_report_lost(struct peer *p)
{
    for (raft_id f = 1; p->r && f <= RAFT_MAX_PEERS; f++) {
        if (!p->lost[f])
            continue;
        p->lost[f] = false;
        text_printf(p->c->out, "%d snapshot transfer to %d failed\n", p->id, f);
        raft_snapshot_sent(p->r, f, p->lost_index[f], false);
    }
}

int snapshot_settle_lost(struct cluster *c)
{
    for (raft_id id = 1; id <= c->n; id++) {
        struct peer *p = &c->peers[id];
        bool any = false;
        for (raft_id f = 1; f <= RAFT_MAX_PEERS; f++)
            any = any || p->lost[f];
        if (any && p->r && peer_settle(p) != 0)
            return -1;
    }
    return 0;
}

void snapshot_forget_transfers(struct peer *p)
{
    memset(p->sending, 0, sizeof(p->sending));
    memset(p->lost, 0, sizeof(p->lost));
}
