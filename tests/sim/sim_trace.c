/* sim_trace.c: recording is a struct copy; text is made only when someone reads it. */
#include "sim_trace.h"

#include <string.h>

#include "sim_network.h"

void sim_trace_init(struct sim_trace *t, FILE *live)
{
    t->count = 0;
    t->live = live;
}

void sim_trace_add(struct sim_trace *t, const struct sim_rec *r)
{
    t->ring[t->count % SIM_TRACE_RING] = *r;
    t->count++;
    if (t->live) {
        char buf[256];
        sim_trace_format(r, buf, sizeof(buf));
        fprintf(t->live, "%s\n", buf);
    }
}

void sim_trace_fill_msg(struct sim_rec *r, const struct raft_message *m)
{
    r->sub = (uint8_t)m->type;
    r->node = (uint8_t)m->to;
    r->peer = (uint8_t)m->from;
    r->a = m->term;
    r->flags = m->after_persist ? 2 : 0;
    switch (m->type) {
    case RAFT_MSG_REQUEST_VOTE:
        r->b = m->u.request_vote.last_log_index;
        r->c = m->u.request_vote.last_log_term;
        r->flags |=
            (m->u.request_vote.pre_vote ? 1 : 0) | (m->u.request_vote.leadership_transfer ? 4 : 0);
        break;
    case RAFT_MSG_REQUEST_VOTE_RESULT:
        r->b = m->u.request_vote_result.vote_granted;
        r->flags |= m->u.request_vote_result.pre_vote ? 1 : 0;
        break;
    case RAFT_MSG_APPEND_ENTRIES:
        r->b = m->u.append_entries.prev_log_index;
        r->c = m->u.append_entries.prev_log_term;
        r->d = m->u.append_entries.leader_commit;
        r->e = m->u.append_entries.n_entries;
        r->f = m->u.append_entries.read_round;
        break;
    case RAFT_MSG_APPEND_ENTRIES_RESULT: {
        const struct raft_append_entries_result *res = &m->u.append_entries_result;
        r->flags |= res->success ? 1 : 0;
        r->b = res->success ? res->match_index : res->rejected_index;
        r->c = res->conflict_term;
        r->d = res->conflict_index;
        r->e = (uint32_t)res->last_log_index;
        r->f = res->read_round;
        break;
    }
    case RAFT_MSG_TIMEOUT_NOW:
        r->b = m->u.timeout_now.last_log_index;
        break;
    default:
        break;
    }
}

static const char *drop_reason(int why)
{
    switch (why) {
    case SIM_DROP_CUT:
        return "partitioned";
    case SIM_DROP_LOST:
        return "lost";
    case SIM_DROP_DOWN:
        return "receiver down";
    case SIM_DROP_CUT_LATE:
        return "partitioned in flight";
    case SIM_DROP_QUEUE:
        return "queue given up";
    default:
        return "?";
    }
}

static int format_msg(const struct sim_rec *r, char *buf, size_t len)
{
    unsigned long long a = r->a, b = r->b, c = r->c, d = r->d;
    const char *ap = (r->flags & 2) ? " after-persist" : "";
    switch (r->sub) {
    case RAFT_MSG_REQUEST_VOTE:
        return snprintf(buf, len, "%d->%d %sRequestVote t%llu last=%llu/t%llu%s%s", r->peer,
                        r->node, (r->flags & 1) ? "Pre" : "", a, b, c,
                        (r->flags & 4) ? " transfer" : "", ap);
    case RAFT_MSG_REQUEST_VOTE_RESULT:
        return snprintf(buf, len, "%d->%d %sVoteResult t%llu %s%s", r->peer, r->node,
                        (r->flags & 1) ? "Pre" : "", a, b ? "granted" : "refused", ap);
    case RAFT_MSG_APPEND_ENTRIES:
        return snprintf(buf, len,
                        "%d->%d AppendEntries t%llu prev=%llu/t%llu n=%u commit=%llu round=%llu%s",
                        r->peer, r->node, a, b, c, r->e, d, (unsigned long long)r->f, ap);
    case RAFT_MSG_APPEND_ENTRIES_RESULT:
        if (r->flags & 1)
            return snprintf(buf, len, "%d->%d AppendResult t%llu ok match=%llu round=%llu%s",
                            r->peer, r->node, a, b, (unsigned long long)r->f, ap);
        return snprintf(buf, len,
                        "%d->%d AppendResult t%llu REJECT at=%llu conflict=t%llu@%llu last=%u "
                        "round=%llu%s",
                        r->peer, r->node, a, b, c, d, r->e, (unsigned long long)r->f, ap);
    case RAFT_MSG_TIMEOUT_NOW:
        return snprintf(buf, len, "%d->%d TimeoutNow t%llu last=%llu%s", r->peer, r->node, a, b,
                        ap);
    default:
        return snprintf(buf, len, "%d->%d message type %d", r->peer, r->node, r->sub);
    }
}

static const char *role_name(uint64_t role)
{
    return role <= RAFT_LEADER ? raft_role_name((enum raft_role)role) : "?";
}

static void format_core(const struct sim_rec *r, char *buf, size_t len)
{
    unsigned long long t = r->a, a = r->b, b = r->c, c = r->d;
    int node = r->node, peer = r->peer;
    switch (r->sub) {
    case RAFT_TRACE_ROLE:
        snprintf(buf, len, "node %d t%llu becomes %s (was %s)", node, t, role_name(r->b),
                 role_name(r->c));
        break;
    case RAFT_TRACE_TERM:
        snprintf(buf, len, "node %d term %llu -> %llu", node, b, a);
        break;
    case RAFT_TRACE_ELECTION_START:
        snprintf(buf, len, "node %d starts %selection for term %llu", node, b ? "pre-" : "", a);
        break;
    case RAFT_TRACE_VOTE:
        snprintf(buf, len, "node %d t%llu %s %svote for %d (reason %llu)", node, t,
                 a ? "grants" : "refuses", b ? "pre-" : "", peer, c);
        break;
    case RAFT_TRACE_VOTE_RECEIVED:
        snprintf(buf, len, "node %d t%llu got %svote from %d (%llu so far)", node, t,
                 b ? "pre-" : "", peer, a);
        break;
    case RAFT_TRACE_LEADER:
        snprintf(buf, len, "node %d t%llu knows leader %d", node, t, peer);
        break;
    case RAFT_TRACE_COMMIT:
        snprintf(buf, len, "node %d t%llu commit %llu -> %llu", node, t, b, a);
        break;
    case RAFT_TRACE_TRUNCATE:
        snprintf(buf, len, "node %d t%llu truncates log %llu..%llu", node, t, a, b);
        break;
    case RAFT_TRACE_STEP_DOWN:
        snprintf(buf, len, "node %d t%llu steps down (reason %llu)", node, t, a);
        break;
    case RAFT_TRACE_PEER_ACTIVE:
        snprintf(buf, len, "node %d t%llu hears from %d again", node, t, peer);
        break;
    case RAFT_TRACE_PEER_INACTIVE:
        snprintf(buf, len, "node %d t%llu finds %d silent", node, t, peer);
        break;
    case RAFT_TRACE_TRANSFER:
        snprintf(buf, len, "node %d t%llu %s transfer to %d", node, t, a ? "starts" : "aborts",
                 peer);
        break;
    case RAFT_TRACE_CONFIGURATION:
        snprintf(buf, len,
                 "node %d t%llu uses configuration voters %#llx learners %#llx (entry %llu)", node,
                 t, a, b, c);
        break;
    case RAFT_TRACE_CAUGHT_UP:
        snprintf(buf, len, "node %d t%llu: learner %d caught up (round %llu)", node, t, peer, a);
        break;
    default:
        snprintf(buf, len, "node %d core event %d", node, r->sub);
        break;
    }
}

static const char *part_name(int kind)
{
    switch (kind) {
    case SIM_PART_ISOLATE:
        return "isolate";
    case SIM_PART_ONE_WAY:
        return "one-way cut";
    case SIM_PART_SPLIT:
        return "split";
    case SIM_PART_BRIDGE:
        return "split with bridge";
    case SIM_PART_LINKS:
        return "random links cut";
    default:
        return "?";
    }
}

static const char *torn_name(uint64_t torn)
{
    switch (torn) {
    case 1:
        return ", torn write: hard state only";
    case 2:
        return ", torn write: hard state and an entry prefix";
    default:
        return "";
    }
}

void sim_trace_format(const struct sim_rec *r, char *buf, size_t len)
{
    int off = snprintf(buf, len, "[%4llu.%03llu] ", (unsigned long long)(r->time / 1000),
                       (unsigned long long)(r->time % 1000));
    if (off < 0 || (size_t)off >= len)
        return;
    char *p = buf + off;
    size_t rest = len - (size_t)off;
    unsigned long long a = r->a, b = r->b, c = r->c, d = r->d;
    switch (r->kind) {
    case SIM_REC_DELIVER:
        format_msg(r, p, rest);
        break;
    case SIM_REC_DROP: {
        int k = snprintf(p, rest, "drop (%s) ", drop_reason(r->flags2));
        if (k > 0 && (size_t)k < rest)
            format_msg(r, p + k, rest - (size_t)k);
        break;
    }
    case SIM_REC_BAD_MSG:
        snprintf(p, rest, "malformed message (from=%lld type=%d) to %d: core answered %lld",
                 (long long)(int64_t)b, (int)c, r->node, (long long)(int64_t)a);
        break;
    case SIM_REC_CORE:
        format_core(r, p, rest);
        break;
    case SIM_REC_CRASH:
        snprintf(p, rest, "CRASH node %d (%llu pending writes lost%s)", r->node, b,
                 torn_name(r->a));
        break;
    case SIM_REC_RESTART:
        snprintf(p, rest, "RESTART node %d from disk: term %llu vote %llu log %llu entries",
                 r->node, a, b, c);
        break;
    case SIM_REC_DISK_FAIL:
        snprintf(p, rest, "DISK FAILS on node %d: raft_stop()", r->node);
        break;
    case SIM_REC_PERSIST:
        snprintf(p, rest, "node %d durable: ready %llu%s term=%llu log from %llu +%llu", r->node, a,
                 b ? "" : " (no hard state)", b, c, d);
        break;
    case SIM_REC_PARTITION:
        snprintf(p, rest, "PARTITION %s a=%llu b=%llu side=0x%llx", part_name(r->sub), a, b, c);
        break;
    case SIM_REC_NET_HEAL:
        snprintf(p, rest, "partition healed");
        break;
    case SIM_REC_HEAL:
        snprintf(p, rest, "=== faults end: network healed, crashed nodes restart ===");
        break;
    case SIM_REC_PROPOSE:
        snprintf(p, rest, "client proposes #%llu to node %d: %s index %llu", a, r->node,
                 raft_strerror((int)(int64_t)c), b);
        break;
    case SIM_REC_READ:
        if (r->sub == SIM_READ_ISSUE)
            snprintf(p, rest, "read ctx %llu asked of node %d: %s (needs >= %llu)", a, r->node,
                     raft_strerror((int)(int64_t)b), c);
        else if (r->sub == SIM_READ_FAILED)
            snprintf(p, rest, "read ctx %llu on node %d failed", a, r->node);
        else
            snprintf(p, rest, "read ctx %llu on node %d: %s %llu (needs >= %llu)", a, r->node,
                     r->sub == SIM_READ_INDEX ? "read index" : "served, applied", b, c);
        break;
    case SIM_REC_SNAPSHOT:
        switch (r->sub) {
        case SIM_SNAP_TAKEN:
            snprintf(p, rest, "node %d snapshots at %llu, log compacted up to %llu", r->node, a, b);
            break;
        case SIM_SNAP_SEND:
            snprintf(p, rest, "node %d sends its snapshot at %llu to %d in %llu chunks", r->node, a,
                     r->peer, b);
            break;
        case SIM_SNAP_CHUNK:
            snprintf(p, rest, "%d->%d snapshot %llu chunk %llu/%llu: %s", r->peer, r->node, a, b, c,
                     raft_strerror((int)(int64_t)d));
            break;
        case SIM_SNAP_INSTALL:
            if ((int)(int64_t)d != RAFT_OK)
                snprintf(p, rest, "node %d refuses snapshot %llu from %d: %s", r->node, a, r->peer,
                         raft_strerror((int)(int64_t)d));
            else
                snprintf(p, rest, "node %d installs snapshot %llu from %d%s", r->node, a, r->peer,
                         b ? "" : " (already had it)");
            break;
        case SIM_SNAP_READING:
            snprintf(p, rest, "node %d has snapshot %llu from %d whole, reads it for %llu ms",
                     r->node, a, r->peer, b);
            break;
        case SIM_SNAP_LOST:
            snprintf(p, rest, "node %d crashed reading snapshot %llu from %d: not installed",
                     r->node, a, r->peer);
            break;
        case SIM_SNAP_IGNORED:
            snprintf(p, rest, "node %d ignores snapshot %llu from %d: still reading another",
                     r->node, a, r->peer);
            break;
        default:
            snprintf(p, rest, "node %d: snapshot transfer to %d %s", r->node, r->peer,
                     a ? "done" : "failed");
            break;
        }
        break;
    case SIM_REC_DISCONNECT:
        snprintf(p, rest, "node %d sees its connection to %d close", r->node, r->peer);
        break;
    case SIM_REC_PACE:
        snprintf(p, rest, "node %d runs at pace %llu, fast failover %s", r->node,
                 (unsigned long long)a, b ? "on" : "off");
        break;
    case SIM_REC_UNREACHABLE:
        snprintf(p, rest, "node %d dropped what it had queued for %d", r->node, r->peer);
        break;
    case SIM_REC_MEMBER:
        snprintf(p, rest, "operator asks node %d to %s %d: %s index %llu", r->node,
                 raft_change_name((enum raft_change)r->sub), r->peer,
                 raft_strerror((int)(int64_t)a), b);
        break;
    case SIM_REC_RETIRE:
        snprintf(p, rest, "operator shuts down node %d: its removal committed", r->node);
        break;
    case SIM_REC_TRANSFER:
        snprintf(p, rest, "node %d asked to transfer leadership to %d: %s", r->node, r->peer,
                 raft_strerror((int)(int64_t)a));
        break;
    default:
        snprintf(p, rest, "record kind %d", r->kind);
        break;
    }
    (void)d;
}

void sim_trace_dump(const struct sim_trace *t, FILE *out, uint64_t now_step, uint64_t steps)
{
    uint64_t first = t->count > SIM_TRACE_RING ? t->count - SIM_TRACE_RING : 0;
    uint64_t from_step = now_step > steps ? now_step - steps : 0;
    uint64_t i = first;
    while (i < t->count && t->ring[i % SIM_TRACE_RING].step < from_step)
        i++;
    if (i == first && first > 0)
        fprintf(out, "  (earlier steps overwritten)\n");
    char buf[256];
    for (; i < t->count; i++) {
        sim_trace_format(&t->ring[i % SIM_TRACE_RING], buf, sizeof(buf));
        fprintf(out, "  %s\n", buf);
    }
}
