/* trace_log.c: the core's trace events, told as sentences in logs/<peer>.log. */
#include "raft_peer/trace_log.h"

#include <stdlib.h>

#include "common/error_message.h"
#include "raft_peer/peer.h"

struct trace_log {
    int votes_granted; /* in the current election, for the log line that ends it */
};

int trace_log_init(struct peer *p, char *err, size_t errlen)
{
    p->trace = calloc(1, sizeof(*p->trace));
    if (!p->trace) {
        set_err(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

void trace_log_free(struct peer *p)
{
    free(p->trace);
    p->trace = NULL;
}

static const char *name_of(const struct peer *p, raft_id id)
{
    return id >= 1 && id <= p->n ? p->names[id - 1] : "nobody";
}

static const char *vote_reason(uint64_t reason)
{
    switch (reason) {
    case RAFT_VOTE_STALE_TERM:
        return "its term is stale";
    case RAFT_VOTE_ALREADY_VOTED:
        return "already voted in this term";
    case RAFT_VOTE_LOG_BEHIND:
        return "its log is behind ours (§5.4.1)";
    case RAFT_VOTE_LEADER_ALIVE:
        return "we heard from a live leader (§4.2.3)";
    }
    return "granted";
}

static const char *step_down_reason(uint64_t reason)
{
    switch (reason) {
    case RAFT_STEP_DOWN_HIGHER_TERM:
        return "saw a higher term";
    case RAFT_STEP_DOWN_CHECK_QUORUM:
        return "heard from no majority within an election timeout (CheckQuorum)";
    case RAFT_STEP_DOWN_STOPPED:
        return "its storage failed";
    case RAFT_STEP_DOWN_TRANSFERRED:
        return "handed leadership over";
    case RAFT_STEP_DOWN_REMOVED:
        return "the configuration that removed it is committed (§4.2.2)";
    }
    return "unknown reason";
}

/* Voters of the configuration in use (traces come during raft_new too, before p->raft). */
static int n_voters(const struct peer *p)
{
    return p->raft ? raft_configuration_n_voters(raft_configuration(p->raft)) : p->boot_n;
}

void trace_to_log(void *ctx, const struct raft_trace *t)
{
    struct peer *p = ctx;
    struct trace_log *tl = p->trace;
    struct event_log *log = p->log;
    int voters;
    event_log_set_term(log, t->term);
    switch (t->type) {
    case RAFT_TRACE_ROLE:
        /* Elections and leadership have sentences of their own; say the rest. */
        if (t->a == RAFT_FOLLOWER)
            event_log_write(log, EVENT_LOG_INFO, "becomes follower (was %s)",
                            raft_role_name((enum raft_role)t->b));
        else
            event_log_write(log, EVENT_LOG_DEBUG, "becomes %s",
                            raft_role_name((enum raft_role)t->a));
        break;
    case RAFT_TRACE_TERM:
        event_log_write(log, EVENT_LOG_INFO, "enters term %llu (was %llu)",
                        (unsigned long long)t->a, (unsigned long long)t->b);
        break;
    case RAFT_TRACE_ELECTION_START:
        if (t->b)
            event_log_write(log, EVENT_LOG_INFO,
                            "timed out, asks for pre-votes for term %llu (PreVote)",
                            (unsigned long long)t->a);
        else
            event_log_write(log, EVENT_LOG_INFO, "starts election for term %llu",
                            (unsigned long long)t->a);
        tl->votes_granted = 1;
        break;
    case RAFT_TRACE_VOTE:
        if (t->a)
            event_log_write(log, t->b ? EVENT_LOG_DEBUG : EVENT_LOG_INFO, "%s %s",
                            t->b ? "grants pre-vote to" : "votes for", name_of(p, t->peer));
        else
            event_log_write(log, EVENT_LOG_INFO, "refuses %s to %s: %s", t->b ? "pre-vote" : "vote",
                            name_of(p, t->peer), vote_reason(t->c));
        break;
    case RAFT_TRACE_VOTE_RECEIVED:
        if (!t->b)
            tl->votes_granted = (int)t->a;
        event_log_write(log, EVENT_LOG_DEBUG, "%s from %s %s (%llu of %d granted)",
                        t->b ? "pre-vote" : "vote", name_of(p, t->peer),
                        t->c ? "granted" : "refused", (unsigned long long)t->a, n_voters(p));
        break;
    case RAFT_TRACE_LEADER:
        voters = n_voters(p);
        if (t->peer == p->self)
            event_log_write(log, EVENT_LOG_INFO, "became leader of term %llu (%d of %d votes)",
                            (unsigned long long)t->term, voters == 1 ? 1 : tl->votes_granted,
                            voters);
        else if (t->peer)
            event_log_write(log, EVENT_LOG_INFO, "follows %s, leader of term %llu",
                            name_of(p, t->peer), (unsigned long long)t->term);
        else
            event_log_write(log, EVENT_LOG_DEBUG, "knows no leader");
        break;
    case RAFT_TRACE_COMMIT:
        event_log_write(log, EVENT_LOG_DEBUG, "commit index %llu -> %llu", (unsigned long long)t->b,
                        (unsigned long long)t->a);
        break;
    case RAFT_TRACE_TRUNCATE:
        event_log_write(log, EVENT_LOG_WARN,
                        "drops conflicting uncommitted entries %llu..%llu (§5.3)",
                        (unsigned long long)t->a, (unsigned long long)t->b);
        break;
    case RAFT_TRACE_STEP_DOWN:
        event_log_write(log, EVENT_LOG_WARN, "steps down as leader: %s", step_down_reason(t->a));
        break;
    case RAFT_TRACE_PEER_ACTIVE:
        event_log_write(log, EVENT_LOG_INFO, "%s answers again", name_of(p, t->peer));
        break;
    case RAFT_TRACE_PEER_INACTIVE:
        event_log_write(log, EVENT_LOG_WARN, "%s has not answered for an election timeout",
                        name_of(p, t->peer));
        break;
    case RAFT_TRACE_TRANSFER:
        event_log_write(log, EVENT_LOG_INFO, "%s leadership transfer to %s",
                        t->a ? "starts" : "gives up", name_of(p, t->peer));
        break;
    case RAFT_TRACE_CONFIGURATION:
        event_log_write(log, EVENT_LOG_DEBUG,
                        "configuration: voters mask %#llx, learners mask %#llx (entry %llu)",
                        (unsigned long long)t->a, (unsigned long long)t->b,
                        (unsigned long long)t->c);
        break;
    case RAFT_TRACE_CAUGHT_UP:
        event_log_write(log, EVENT_LOG_INFO, "learner %s caught up (round %llu)",
                        name_of(p, t->peer), (unsigned long long)t->a);
        break;
    }
}
