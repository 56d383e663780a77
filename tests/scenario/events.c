/* events.c: the core's trace events, printed as the lines a scenario expects. */
#include "tests/scenario/events.h"

#include <inttypes.h>

#include "tests/scenario/cluster.h"
#include "tests/scenario/output.h"

void on_trace(void *ctx, const struct raft_trace *tr)
{
    struct peer *p = ctx;
    struct cluster *c = p->c;
    if (tr->type == RAFT_TRACE_ELECTION_START)
        p->elections++;
    if (!c->events || !c->out)
        return;
    struct text *t = c->out;
    switch (tr->type) {
    case RAFT_TRACE_ROLE:
        /* Becoming a (pre-)candidate shows as the election it starts, below. */
        if (tr->a == RAFT_FOLLOWER || tr->a == RAFT_LEADER)
            text_printf(t, "%d becomes %s at term %" PRIu64 "\n", p->id,
                        raft_role_name((enum raft_role)tr->a), tr->term);
        break;
    case RAFT_TRACE_ELECTION_START:
        text_printf(t, "%d starts %s for term %" PRIu64 "\n", p->id,
                    tr->b ? "pre-vote" : "election", tr->a);
        break;
    case RAFT_TRACE_VOTE:
        if (!tr->a) /* granted votes show as vote_result messages */
            text_printf(t, "%d refuses %s to %d: %s\n", p->id, tr->b ? "pre_vote" : "vote",
                        tr->peer, vote_reason_str(tr->c));
        break;
    case RAFT_TRACE_COMMIT:
        text_printf(t, "%d commit %" PRIu64 " -> %" PRIu64 "\n", p->id, tr->b, tr->a);
        break;
    case RAFT_TRACE_TRUNCATE:
        text_printf(t, "%d truncates %" PRIu64 "..%" PRIu64 "\n", p->id, tr->a, tr->b);
        break;
    case RAFT_TRACE_STEP_DOWN:
        text_printf(t, "%d steps down: %s\n", p->id, step_down_str(tr->a));
        break;
    case RAFT_TRACE_PEER_ACTIVE:
        text_printf(t, "%d hears from %d again\n", p->id, tr->peer);
        break;
    case RAFT_TRACE_PEER_INACTIVE:
        text_printf(t, "%d lost contact with %d\n", p->id, tr->peer);
        break;
    case RAFT_TRACE_TRANSFER:
        text_printf(t, "%d %s leadership transfer to %d\n", p->id, tr->a ? "starts" : "aborts",
                    tr->peer);
        break;
    case RAFT_TRACE_CONFIGURATION: {
        struct raft_configuration conf = {(uint32_t)tr->a, (uint32_t)tr->b};
        text_printf(t, "%d uses configuration ", p->id);
        print_configuration(t, &conf);
        if (tr->c)
            text_printf(t, " of index %" PRIu64 "\n", tr->c);
        else
            text_printf(t, " of its snapshot or bootstrap\n");
        break;
    }
    case RAFT_TRACE_CAUGHT_UP:
        text_printf(t, "%d sees learner %d caught up in round %" PRIu64 "\n", p->id, tr->peer,
                    tr->a);
        break;
    default: /* terms, leaders and vote tallies show through messages and `expect` */
        break;
    }
}
