/* sim_client.c: the client: unique commands, linearizable reads, and the recovery goal after the
 * faults. */
#include "sim.h"

#include <stdlib.h>
#include <string.h>

#include "sim_alloc.h"

#define SIM_PAYLOAD_MAX 256
#define SIM_NO_LIVE     UINT32_MAX
/* A real client gives up on an answer after this long and tries again. */
#define SIM_RETRY_MS     1000
#define SIM_LIVE_POLL_MS 50

/* The node the client talks to: the one it believes leads, else any node that is up. */
static struct sim_node *pick_target(struct sim *s)
{
    int id = s->client.hint;
    if (id >= 1 && id <= s->p.n && s->nodes[id].up)
        return &s->nodes[id];
    int up[SIM_MAX_NODES], n_up = 0;
    for (int i = 1; i <= s->p.n; i++)
        if (s->nodes[i].up)
            up[n_up++] = i;
    if (n_up == 0)
        return NULL;
    s->client.hint = up[sim_rng_below(&s->rng, (uint64_t)n_up)];
    return &s->nodes[s->client.hint];
}

static void follow_redirect(struct sim *s, struct sim_node *n)
{
    raft_id leader = raft_leader(n->r);
    s->client.hint = leader != n->id ? leader : 0;
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* Proposes a new command; returns the core's answer (or RAFT_ENOTLEADER when every node
 * is down). The payload starts with a serial number that no other proposal uses. */
static int propose(struct sim *s, uint32_t live)
{
    struct sim_node *n = pick_target(s);
    if (!n)
        return RAFT_ENOTLEADER;
    uint8_t buf[SIM_PAYLOAD_MAX];
    uint64_t serial = s->client.n_att;
    uint32_t len = (uint32_t)sim_rng_range(&s->rng, 8, s->p.payload_max);
    put_u64(buf, serial);
    for (uint32_t i = 8; i < len; i++)
        buf[i] = (uint8_t)sim_rng_next(&s->rng);
    raft_index idx = 0;
    int rc = raft_propose(n->r, buf, len, &idx);
    struct sim_rec r = {0};
    r.kind = SIM_REC_PROPOSE;
    r.node = (uint8_t)n->id;
    r.a = serial;
    r.b = idx;
    r.c = (uint64_t)(int64_t)rc;
    sim_record(s, &r);
    if (rc == RAFT_OK) {
        sim_grow((void **)&s->client.att, &s->client.att_cap, s->client.n_att + 1,
                 sizeof(*s->client.att));
        struct sim_attempt *a = &s->client.att[s->client.n_att++];
        a->live = live;
        a->index = 0;
        s->st.proposals++;
    } else if (rc == RAFT_ENOTLEADER) {
        follow_redirect(s, n);
    } else if (rc != RAFT_EBUSY && !(rc == RAFT_ESTOPPED && n->stopped)) {
        sim_fail(s, "Contract", "node %d: raft_propose answers %s", n->id, raft_strerror(rc));
        return rc;
    }
    sim_node_settle(s, n);
    if (rc == RAFT_OK && !s->failed && n->up) {
        struct raft_entry e = {.term = 0, .type = RAFT_ENTRY_COMMAND, .len = len, .data = buf};
        const struct sim_meta *m = sim_log_at(&n->log, idx);
        if (!m || m->dhash != sim_entry_hash(&e) || m->term != raft_current_term(n->r))
            sim_fail(s, "Contract",
                     "node %d: raft_propose gives index %llu, but its log does not hold the "
                     "command there",
                     n->id, (unsigned long long)idx);
    }
    return rc;
}

void sim_client_applied(struct sim *s, struct sim_node *n, raft_index index,
                        const struct raft_entry *e)
{
    if (e->type != RAFT_ENTRY_COMMAND)
        return;
    uint64_t serial = e->len >= 8 ? get_u64(e->data) : UINT64_MAX;
    if (serial >= s->client.n_att) {
        sim_fail(s, "Integrity", "node %d applies at index %llu a command nobody proposed", n->id,
                 (unsigned long long)index);
        return;
    }
    struct sim_attempt *a = &s->client.att[serial];
    if (a->index == 0) {
        a->index = index;
        /* Committed; the final check waits for every node to apply everything. */
        if (a->live != SIM_NO_LIVE)
            s->client.live_ok[a->live] = true;
    } else if (a->index != index) {
        sim_fail(s, "Integrity", "command #%llu is applied at index %llu and at index %llu",
                 (unsigned long long)serial, (unsigned long long)a->index,
                 (unsigned long long)index);
        return;
    }
    s->st.applied_cmds++;
}

/* ---- reads -------------------------------------------------------------- */

static void record_read(struct sim *s, int what, int node, uint64_t ctx, raft_index index,
                        raft_index need)
{
    struct sim_rec r = {0};
    r.kind = SIM_REC_READ;
    r.sub = (uint8_t)what;
    r.node = (uint8_t)node;
    r.a = ctx;
    r.b = index;
    r.c = need;
    sim_record(s, &r);
}

static int issue_read(struct sim *s, bool live)
{
    struct sim_node *n = pick_target(s);
    if (!n)
        return RAFT_ENOTLEADER;
    sim_grow((void **)&s->client.reads, &s->client.reads_cap, s->client.n_reads + 1,
             sizeof(*s->client.reads));
    uint64_t ctx = s->client.n_reads + 1;
    struct sim_read *rd = &s->client.reads[s->client.n_reads++];
    memset(rd, 0, sizeof(*rd));
    rd->issued = s->now;
    /* Every write acknowledged before the read began is committed, so the highest index
     * known committed anywhere is a lower bound for a linearizable read. */
    rd->need = sim_inv_committed_index(&s->inv);
    rd->node = (uint8_t)n->id;
    rd->inc = n->inc;
    rd->live = live;
    rd->state = SIM_READ_PENDING;
    int rc = raft_read_index(n->r, ctx);
    record_read(s, SIM_READ_ISSUE, n->id, ctx, (raft_index)(int64_t)rc, rd->need);
    if (rc != RAFT_OK) {
        rd->state = SIM_READ_GONE;
        if (rc == RAFT_ENOTLEADER)
            follow_redirect(s, n);
        else if (rc != RAFT_EBUSY && !(rc == RAFT_ESTOPPED && n->stopped)) {
            sim_fail(s, "Contract", "node %d: raft_read_index answers %s", n->id,
                     raft_strerror(rc));
            return rc;
        }
    }
    sim_node_settle(s, n);
    return rc;
}

static struct sim_read *answered(struct sim *s, struct sim_node *n, uint64_t ctx)
{
    if (ctx == 0 || ctx > s->client.n_reads) {
        sim_fail(s, "Contract", "node %d answers read %llu, which nobody asked", n->id,
                 (unsigned long long)ctx);
        return NULL;
    }
    struct sim_read *rd = &s->client.reads[ctx - 1];
    if (rd->node != n->id || rd->inc != n->inc) {
        sim_fail(s, "Contract", "read %llu was asked of node %d, but node %d answers it",
                 (unsigned long long)ctx, rd->node, n->id);
        return NULL;
    }
    if (rd->state != SIM_READ_PENDING) {
        sim_fail(s, "Contract", "node %d answers read %llu twice", n->id, (unsigned long long)ctx);
        return NULL;
    }
    return rd;
}

void sim_client_read_index(struct sim *s, struct sim_node *n, uint64_t ctx, raft_index index)
{
    struct sim_read *rd = answered(s, n, ctx);
    if (!rd)
        return;
    record_read(s, SIM_READ_INDEX, n->id, ctx, index, rd->need);
    if (index < rd->need) {
        sim_fail(s, "Linearizable reads",
                 "read %llu on node %d gets read index %llu, but index %llu was already "
                 "committed when it began (at %llu ms)",
                 (unsigned long long)ctx, n->id, (unsigned long long)index,
                 (unsigned long long)rd->need, (unsigned long long)rd->issued);
        return;
    }
    rd->index = index;
    rd->state = SIM_READ_WAIT_APPLY;
    sim_grow((void **)&n->waiting, &n->waiting_cap, n->n_waiting + 1, sizeof(*n->waiting));
    n->waiting[n->n_waiting++] = ctx;
}

void sim_client_read_failed(struct sim *s, struct sim_node *n, uint64_t ctx)
{
    struct sim_read *rd = answered(s, n, ctx);
    if (!rd)
        return;
    rd->state = SIM_READ_GONE;
    s->st.reads_failed++;
    record_read(s, SIM_READ_FAILED, n->id, ctx, 0, rd->need);
}

void sim_client_serve(struct sim *s, struct sim_node *n)
{
    size_t keep = 0;
    for (size_t i = 0; i < n->n_waiting; i++) {
        uint64_t ctx = n->waiting[i];
        struct sim_read *rd = &s->client.reads[ctx - 1];
        if (rd->index > n->applied) {
            n->waiting[keep++] = ctx;
            continue;
        }
        rd->state = SIM_READ_DONE;
        s->st.reads_served++;
        if (rd->live)
            s->client.live_read_ok = true;
        record_read(s, SIM_READ_SERVED, n->id, ctx, n->applied, rd->need);
    }
    n->n_waiting = keep;
}

void sim_client_node_down(struct sim *s, struct sim_node *n)
{
    for (size_t i = 0; i < n->n_waiting; i++)
        s->client.reads[n->waiting[i] - 1].state = SIM_READ_GONE;
    n->n_waiting = 0;
    if (s->client.hint == n->id)
        s->client.hint = 0;
}

/* ---- the streams ---------------------------------------------------------- */

void sim_client_start(struct sim *s)
{
    sim_schedule(s, s->now + sim_rng_range(&s->rng, 1, 2 * s->p.propose_mean), SIM_EV_PROPOSE, 0, 0,
                 NULL, 0, 0);
    sim_schedule(s, s->now + sim_rng_range(&s->rng, 1, 2 * s->p.read_mean), SIM_EV_READ, 0, 0, NULL,
                 0, 0);
}

void sim_on_propose(struct sim *s)
{
    if (s->phase != SIM_FAULTS)
        return;
    /* Sometimes several at once, so that batching limits matter. */
    int burst = sim_rng_chance(&s->rng, 100000) ? (int)sim_rng_range(&s->rng, 2, 6) : 1;
    for (int i = 0; i < burst && !s->failed; i++)
        propose(s, SIM_NO_LIVE);
    sim_schedule(s, s->now + sim_rng_range(&s->rng, 1, 2 * s->p.propose_mean), SIM_EV_PROPOSE, 0, 0,
                 NULL, 0, 0);
}

void sim_on_read(struct sim *s)
{
    if (s->phase != SIM_FAULTS)
        return;
    issue_read(s, false);
    sim_schedule(s, s->now + sim_rng_range(&s->rng, 1, 2 * s->p.read_mean), SIM_EV_READ, 0, 0, NULL,
                 0, 0);
}

static bool due(const struct sim *s, raft_time tried)
{
    return tried == 0 || s->now - tried >= SIM_RETRY_MS;
}

void sim_on_live(struct sim *s)
{
    bool all = true;
    for (int i = 0; i < s->p.live_cmds && !s->failed; i++) {
        if (s->client.live_ok[i])
            continue;
        all = false;
        if (due(s, s->client.live_tried[i]) && propose(s, (uint32_t)i) == RAFT_OK)
            s->client.live_tried[i] = s->now;
    }
    if (!s->client.live_read_ok && !s->failed) {
        all = false;
        if (due(s, s->client.live_read_tried) && issue_read(s, true) == RAFT_OK)
            s->client.live_read_tried = s->now;
    }
    if (s->failed)
        return;
    /* And every member has caught up with everything committed, so the final check can
     * demand the whole committed log everywhere. */
    sim_members_poll(s);
    for (int i = 1; i <= s->p.n && all && !s->failed; i++)
        all = !sim_members_final(s, &s->nodes[i]) ||
              (s->nodes[i].up && s->nodes[i].applied >= sim_inv_committed_index(&s->inv));
    if (s->failed)
        return;
    if (all) {
        sim_check_final(s);
        s->done = true;
        return;
    }
    sim_schedule(s, s->now + SIM_LIVE_POLL_MS, SIM_EV_LIVE, 0, 0, NULL, 0, 0);
}

void sim_on_deadline(struct sim *s)
{
    if (s->done || s->failed)
        return;
    int missing = 0, lagging = 0;
    raft_index committed = sim_inv_committed_index(&s->inv);
    for (int i = 0; i < s->p.live_cmds; i++)
        missing += !s->client.live_ok[i];
    char nodes[320];
    size_t off = 0;
    for (int i = 1; i <= s->p.n && off < sizeof(nodes); i++) {
        struct sim_node *n = &s->nodes[i];
        int k;
        if (n->up) {
            lagging += n->applied < committed;
            k = snprintf(nodes + off, sizeof(nodes) - off, " %d:%s/t%llu/c%llu/a%llu", i,
                         raft_role_name(raft_role(n->r)),
                         (unsigned long long)raft_current_term(n->r), (unsigned long long)n->commit,
                         (unsigned long long)n->applied);
        } else {
            lagging += !n->retired;
            k = snprintf(nodes + off, sizeof(nodes) - off, " %d:%s", i,
                         n->retired ? "retired" : "down");
        }
        if (k < 0)
            break;
        off += (size_t)k;
    }
    sim_fail(s, "Liveness",
             "%llu ms after the faults ended: %d of %d new commands not committed, %s, %d "
             "node(s) behind the committed index %llu; nodes (role/term/commit/applied):%s",
             (unsigned long long)s->p.live_ms, missing, s->p.live_cmds,
             s->client.live_read_ok ? "a read served" : "no read served", lagging,
             (unsigned long long)committed, nodes);
}

void sim_client_free(struct sim *s)
{
    free(s->client.att);
    free(s->client.reads);
    memset(&s->client, 0, sizeof(s->client));
}
