/* election.c: the election timer, starting an election, deciding and counting votes (§5.2, §5.4.1).
 */
#include <assert.h>

#include "raft_peer/core/state.h"

/* splitmix64: the core's own seeded PRNG, so a seed replays exactly. */
uint64_t raft__prng_next(struct raft *r)
{
    uint64_t z = (r->prng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* §5.2: "election timeouts are chosen randomly from a fixed interval". */
void raft__election_reset_timer(struct raft *r)
{
    assert(r->cfg.election_timeout_min > 0 &&
           r->cfg.election_timeout_min <= r->cfg.election_timeout_max);
    raft_time span = r->cfg.election_timeout_max - r->cfg.election_timeout_min + 1;
    r->election_start = r->now;
    r->election_deadline = r->now + r->cfg.election_timeout_min + raft__prng_next(r) % span;
}

/* §5.4.1: "If the logs have last entries with different terms, then the log
 * with the later term is more up-to-date. If the logs end with the same term,
 * then whichever log is longer is more up-to-date." */
bool raft__election_log_up_to_date(const struct raft *r, raft_index last_index, raft_term last_term)
{
    raft_term our_term = raft__log_last_term(&r->log);
    if (last_term != our_term)
        return last_term > our_term;
    return last_index >= raft__log_last_index(&r->log);
}

/* Figure 2, Candidates: "Send RequestVote RPCs to all other servers"; with
 * pre_vote, the same question at term + 1 without changing anything (§9.6).
 * leadership_transfer: this election answers a TimeoutNow (§3.10, transfer.c); a
 * pre-vote remembers it for the election that follows. */
void raft__election_start(struct raft *r, bool pre_vote, bool leadership_transfer)
{
    /* Only a server that may stand (configuration.c), and never a leader: it would
     * depose itself. */
    assert(!r->stopped && r->role != RAFT_LEADER);
    assert(raft__conf_may_campaign(r));
    r->campaign_transfer = leadership_transfer;
    if (pre_vote)
        raft__convert_to_pre_candidate(r);
    else
        raft__convert_to_candidate(r, leadership_transfer);
    raft__election_reset_timer(r);
    for (raft_id id = 1; id <= RAFT_MAX_PEERS; id++)
        r->votes[id] = 0;
    r->votes[r->cfg.id] = 1; /* counted only if we are a voter (raft__election_tally) */
    raft_term term = pre_vote ? r->current_term + 1 : r->current_term;
    raft__trace_emit(r, RAFT_TRACE_ELECTION_START, RAFT_NOBODY, term, pre_vote, 0);

    if (raft__election_tally(r, NULL) >= raft__majority(r)) {
        /* A cluster of one wins at once. */
        if (pre_vote)
            raft__election_start(r, false, leadership_transfer);
        else
            raft__convert_to_leader(r);
        return;
    }
    /* §4.1: votes come from the voters of the configuration in use. */
    uint32_t ask = r->conf.voters;
    if (MUTATED(r, RAFT_MUTATE_VOTE_FROM_NON_MEMBER))
        ask |= r->conf.learners | r->conf_prev.voters | r->conf_prev.learners;
    FOR_EACH_PEER(id, ask & ~((uint32_t)1 << r->cfg.id))
    {
        struct raft_message m = {
            .type = RAFT_MSG_REQUEST_VOTE,
            .to = id,
            .term = term,
            .u.request_vote = {.last_log_index = raft__log_last_index(&r->log),
                               .last_log_term = raft__log_last_term(&r->log),
                               .pre_vote = pre_vote,
                               .leadership_transfer = leadership_transfer},
        };
        raft__outbox_push(r, &m);
    }
}

/* Votes granted so far (and, through refused, votes refused), counting only the voters
 * of the configuration in use: a vote from anyone else decides nothing (§4.1). */
int raft__election_tally(const struct raft *r, int *refused)
{
    int granted = 0, denied = 0;
    for (raft_id id = 1; id <= RAFT_MAX_PEERS; id++) {
        if (!raft__conf_is_voter(r, id) && !MUTATED(r, RAFT_MUTATE_VOTE_FROM_NON_MEMBER))
            continue;
        /* Figure 2: our own vote counts once it is on stable storage (the pre-vote's
         * changes nothing and counts at once). Others answer only after that anyway; a
         * sole voter wins when raft_persisted says so. */
        if (id == r->cfg.id && r->role == RAFT_CANDIDATE && r->durable_term != r->current_term)
            continue;
        if (r->votes[id] > 0)
            granted++;
        else if (r->votes[id] < 0)
            denied++;
    }
    if (refused)
        *refused = denied;
    return granted;
}
