/* peer.c: driving one core: its readies in the order raft.h prescribes (send, write,
 * send, snapshot transfers, apply, serve reads), boot from its disk and snapshot, and
 * `sync` of a manual disk. */
#include "tests/scenario/peer.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "tests/scenario/disk.h"
#include "tests/scenario/events.h"
#include "tests/scenario/invariants.h"
#include "tests/scenario/network.h"
#include "tests/scenario/output.h"
#include "tests/scenario/snapshots.h"

struct read_req *read_find(struct peer *p, uint64_t ctx)
{
    for (size_t i = 0; i < p->n_reads; i++)
        if (p->reads[i].ctx == ctx)
            return &p->reads[i];
    return NULL;
}

/* Serves the reads whose index the state machine has reached (dissertation §6.4 step 4). */
static void serve_reads(struct peer *p)
{
    for (size_t i = 0; i < p->n_reads; i++) {
        struct read_req *rq = &p->reads[i];
        if (rq->state == READ_WAITING && rq->index <= p->applied) {
            rq->state = READ_SERVED;
            text_printf(p->c->out, "%d serves read %" PRIu64 " at index %" PRIu64 "\n", p->id,
                        rq->ctx, rq->index);
        }
    }
}

static int apply_committed(struct peer *p, const struct raft_ready *rd)
{
    struct cluster *c = p->c;
    if (rd->n_committed == 0)
        return 0;
    if (rd->apply_from != p->applied + 1)
        return fail(c, "peer %d: asked to apply from %" PRIu64 " but applied up to %" PRIu64, p->id,
                    rd->apply_from, p->applied);
    for (size_t i = 0; i < rd->n_committed; i++) {
        const struct raft_entry *e = &rd->committed[i];
        raft_index idx = rd->apply_from + i;
        if (idx < c->n_committed && c->committed[idx] != 0 && c->committed[idx] != e->term)
            return fail(c,
                        "peer %d applies index %" PRIu64 " term %" PRIu64 " but term %" PRIu64
                        " was committed there",
                        p->id, idx, e->term, c->committed[idx]);
        if (e->type == RAFT_ENTRY_COMMAND && e->len > 0) {
            print_payload(&p->cmds, e->data, e->len);
            text_printf(&p->cmds, "\n");
        }
        p->applied = idx;
    }
    return 0;
}

static int record_reads(struct peer *p, const struct raft_ready *rd)
{
    for (size_t i = 0; i < rd->n_reads; i++) {
        struct read_req *rq = read_find(p, rd->reads[i].ctx);
        if (!rq || rq->state != READ_PENDING)
            return fail(p->c, "peer %d: read %" PRIu64 " answered but not pending", p->id,
                        rd->reads[i].ctx);
        rq->index = rd->reads[i].index;
        rq->state = READ_WAITING;
        text_printf(p->c->out, "%d read %" PRIu64 " has read index %" PRIu64 "\n", p->id, rq->ctx,
                    rq->index);
    }
    for (size_t i = 0; i < rd->n_failed_reads; i++) {
        struct read_req *rq = read_find(p, rd->failed_reads[i]);
        if (!rq || rq->state != READ_PENDING)
            return fail(p->c, "peer %d: read %" PRIu64 " failed but not pending", p->id,
                        rd->failed_reads[i]);
        rq->state = READ_FAILED;
        text_printf(p->c->out, "%d read %" PRIu64 " failed\n", p->id, rq->ctx);
    }
    return 0;
}

/* Manual disk: every held write reaches the disk, in order; then its late
 * messages leave and the core hears about it. */
int peer_sync(struct peer *p)
{
    if (p->n_held == 0)
        return 0;
    uint64_t seq = 0;
    int rc = 0;
    for (size_t k = 0; k < p->n_held; k++) {
        struct write_op *h = &p->held[k];
        if (rc == 0)
            rc = disk_write(p, h);
        for (size_t i = 0; rc == 0 && i < h->n_after; i++)
            rc = net_send(p->c, &h->after[i], p->id);
        seq = h->seq;
        held_free(h);
    }
    p->n_held = 0;
    if (rc != 0)
        return rc;
    rc = raft_persisted(p->r, seq);
    if (rc != RAFT_OK)
        return fail(p->c, "peer %d: raft_persisted: %s", p->id, raft_strerror(rc));
    return peer_settle(p);
}

/* Handles readies until the core is quiet, in the order raft.h prescribes: send the
 * early messages, write (at once, or held for `sync` on a manual disk), send the
 * rest, apply. */
int peer_settle(struct peer *p)
{
    struct cluster *c = p->c;
    for (int guard = 0;; guard++) {
        snapshot_report_lost(p); /* between readies, as the daemon does */
        if (!p->r || !raft_has_ready(p->r))
            break;
        if (guard >= SC_GUARD)
            return fail(c, "peer %d: the core never stops producing readies", p->id);
        struct raft_ready rd;
        raft_take_ready(p->r, &rd);
        for (size_t i = 0; i < rd.n_messages; i++)
            if (!rd.messages[i].after_persist && net_send(c, &rd.messages[i], p->id) != 0)
                return -1;
        if (p->manual_disk) {
            if (hold_write(p, &rd) != 0)
                return -1;
        } else {
            struct write_op op;
            write_op_of_ready(&rd, &op);
            if (disk_write(p, &op) != 0)
                return -1;
            for (size_t i = 0; i < rd.n_messages; i++)
                if (rd.messages[i].after_persist && net_send(c, &rd.messages[i], p->id) != 0)
                    return -1;
        }
        if (snapshot_send_requested(p, &rd) != 0)
            return -1;
        if (apply_committed(p, &rd) != 0 || record_reads(p, &rd) != 0)
            return -1;
        serve_reads(p);
        if (!p->manual_disk) {
            int rc = raft_persisted(p->r, rd.seq);
            if (rc != RAFT_OK)
                return fail(c, "peer %d: raft_persisted: %s", p->id, raft_strerror(rc));
        }
        if (check_invariants(c) != 0)
            return -1;
    }
    return 0;
}

int peer_boot(struct cluster *c, struct peer *p)
{
    struct raft_config cfg = c->base;
    cfg.id = p->id;
    cfg.election_timeout_min = p->timeout;
    cfg.election_timeout_max = p->timeout;
    cfg.seed = (uint64_t)p->id; /* fixed seeds: the same file always runs the same way */
    cfg.trace = on_trace;
    cfg.trace_ctx = p;
    struct raft_boot_state boot;
    disk_recover(&p->disk);
    disk_boot_state(&p->disk, &boot);
    if (boot.snapshot_index == 0) /* the log starts at index 1: the bootstrap's */
        boot.configuration = p->id <= c->voters ? raft_configuration_bootstrap(c->voters)
                                                : (struct raft_configuration){0, 0};
    /* The state machine is loaded from the snapshot, if any. */
    p->applied = boot.snapshot_index;
    text_free(&p->cmds);
    if (p->disk.snap.state && *p->disk.snap.state)
        text_printf(&p->cmds, "%s", p->disk.snap.state);
    p->n_reads = 0;
    p->boots++;
    snapshot_forget_transfers(p);
    p->r = raft_new(&cfg, &boot, p->now);
    if (!p->r)
        return fail(
            c, "raft_new refused peer %d (term %" PRIu64 ", snapshot %" PRIu64 ", %zu entries)",
            p->id, boot.term, boot.snapshot_index, boot.n_entries);
    return peer_settle(p);
}
