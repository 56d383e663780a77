/* raft.c: creating and freeing a core, proposing commands, and the read-only views. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "raft_peer/core/state.h"

const char *raft_strerror(int err)
{
    switch (err) {
    case RAFT_OK:
        return "ok";
    case RAFT_ENOMEM:
        return "out of memory";
    case RAFT_ENOTLEADER:
        return "not the leader";
    case RAFT_EINVAL:
        return "invalid argument or message";
    case RAFT_EBUSY:
        return "busy: too many uncommitted entries, or leadership is being handed over";
    case RAFT_ESTOPPED:
        return "stopped: storage failed";
    case RAFT_ECHANGE_PENDING:
        return "another membership change is not committed yet";
    case RAFT_ENOT_READY:
        return "the new leader has not committed an entry of its term yet";
    case RAFT_EUNKNOWN_PEER:
        return "no such member";
    case RAFT_EEXISTS:
        return "already a member (or already a voter)";
    case RAFT_ELAST_VOTER:
        return "cannot remove the last voter";
    case RAFT_ENOT_CAUGHT_UP:
        return "the learner has not caught up with the leader's log yet";
    }
    return "unknown error";
}

const char *raft_role_name(enum raft_role role)
{
    switch (role) {
    case RAFT_FOLLOWER:
        return "follower";
    case RAFT_PRE_CANDIDATE:
        return "pre_candidate";
    case RAFT_CANDIDATE:
        return "candidate";
    case RAFT_LEADER:
        return "leader";
    }
    return "unknown";
}

const char *raft_message_type_name(enum raft_message_type type)
{
    switch (type) {
    case RAFT_MSG_REQUEST_VOTE:
        return "request_vote";
    case RAFT_MSG_REQUEST_VOTE_RESULT:
        return "request_vote_result";
    case RAFT_MSG_APPEND_ENTRIES:
        return "append_entries";
    case RAFT_MSG_APPEND_ENTRIES_RESULT:
        return "append_entries_result";
    case RAFT_MSG_TIMEOUT_NOW:
        return "timeout_now";
    }
    return "unknown";
}

void raft_config_defaults(struct raft_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->election_timeout_min = 150;
    cfg->election_timeout_max = 300;
    cfg->heartbeat_interval = 50;
    cfg->seed = 1;
    cfg->pre_vote = true;
    cfg->check_quorum = true;
    cfg->fast_failover = true;
    cfg->max_entries_per_message = 256;
    cfg->max_bytes_per_message = 256 * 1024;
    cfg->max_inflight = 64;
    cfg->max_inflight_bytes = 1u << 20;
    cfg->max_uncommitted = 65536;
}

static bool config_valid(const struct raft_config *cfg)
{
    return cfg->id >= 1 && cfg->id <= RAFT_MAX_PEERS && cfg->election_timeout_min > 0 &&
           cfg->election_timeout_min <= cfg->election_timeout_max && cfg->heartbeat_interval > 0 &&
           cfg->heartbeat_interval < cfg->election_timeout_min &&
           cfg->max_entries_per_message > 0 && cfg->max_inflight > 0 && cfg->max_uncommitted > 0;
}

struct raft *raft_new(const struct raft_config *cfg, const struct raft_boot_state *boot,
                      raft_time now)
{
    if (!config_valid(cfg))
        return NULL;
    if (boot && (boot->voted_for < 0 || boot->voted_for > RAFT_MAX_PEERS ||
                 !raft__configuration_valid(&boot->configuration)))
        return NULL;
    for (size_t i = 0; boot && i < boot->n_entries; i++)
        if (!raft__configuration_entry_valid(&boot->entries[i]))
            return NULL;
    struct raft *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->cfg = *cfg;
    r->now = now;
    r->prng = cfg->seed ^ ((uint64_t)cfg->id << 32);
    raft__log_init(&r->log);
    if (boot) {
        r->current_term = boot->term;
        r->voted_for = boot->voted_for;
        /* The state machine was loaded from the snapshot: it is committed and applied. */
        r->log.offset = boot->snapshot_index;
        r->log.offset_term = boot->snapshot_term;
        r->commit_index = boot->snapshot_index;
        r->last_applied = boot->snapshot_index;
        r->snap_conf = boot->configuration;
        for (size_t i = 0; i < boot->n_entries; i++) {
            if (raft__log_append(&r->log, &boot->entries[i]) != RAFT_OK) {
                raft_free(r);
                return NULL;
            }
        }
    }
    r->role = RAFT_FOLLOWER;
    /* No trace yet: the caller has no core to look at until raft_new returns. */
    r->cfg.trace = NULL;
    raft__conf_rebuild(r);
    r->cfg.trace = cfg->trace;
    r->durable_term = r->current_term;
    r->persisted_index = raft__log_last_index(&r->log);
    r->unstable_from = r->persisted_index + 1;
    raft__election_reset_timer(r);
    raft__assert_invariants(r);
    return r;
}

void raft_free(struct raft *r)
{
    if (!r)
        return;
    raft__ready_free(r);
    raft__log_free(&r->log);
    raft__progress_free_all(r);
    free(r);
}

/* Figure 2, Leaders: "If command received from client: append entry to local
 * log, respond after entry applied to state machine". Replication of all the
 * proposals since the last ready goes out together at the next raft_take_ready. */
int raft_propose(struct raft *r, const void *data, uint32_t len, raft_index *index)
{
    raft__ready_reset_if_taken(r);
    assert(data != NULL || len == 0);
    if (r->stopped)
        return RAFT_ESTOPPED;
    if (r->role != RAFT_LEADER)
        return RAFT_ENOTLEADER;
    if (r->transfer_target != RAFT_NOBODY)
        return RAFT_EBUSY; /* §3.10: no new commands while handing over */
    if (raft__log_last_index(&r->log) - r->commit_index >= r->cfg.max_uncommitted)
        return RAFT_EBUSY;
    struct raft_entry e = {
        .term = r->current_term, .type = RAFT_ENTRY_COMMAND, .len = len, .data = (uint8_t *)data};
    if (raft__log_append(&r->log, &e) != RAFT_OK)
        return RAFT_ENOMEM;
    if (index)
        *index = raft__log_last_index(&r->log);
    r->replicate_pending = true;
    raft__replication_maybe_commit(r); /* a cluster of one */
    return RAFT_OK;
}

void raft_stop(struct raft *r)
{
    raft__ready_reset_if_taken(r);
    if (r->stopped)
        return;
    if (r->role == RAFT_LEADER)
        raft__trace_emit(r, RAFT_TRACE_STEP_DOWN, RAFT_NOBODY, RAFT_STEP_DOWN_STOPPED, 0, 0);
    raft__convert_to_follower(r, r->current_term, RAFT_NOBODY);
    r->stopped = true;
}

raft_id raft_id_of(const struct raft *r)
{
    return r->cfg.id;
}
enum raft_role raft_role(const struct raft *r)
{
    return r->role;
}
raft_term raft_current_term(const struct raft *r)
{
    return r->current_term;
}
raft_id raft_voted_for(const struct raft *r)
{
    return r->voted_for;
}
raft_id raft_leader(const struct raft *r)
{
    return r->leader_id;
}
raft_index raft_commit_index(const struct raft *r)
{
    return r->commit_index;
}
raft_index raft_last_applied(const struct raft *r)
{
    return r->last_applied;
}
raft_index raft_persisted_index(const struct raft *r)
{
    return r->persisted_index;
}
raft_index raft_last_index(const struct raft *r)
{
    return raft__log_last_index(&r->log);
}
raft_term raft_last_term(const struct raft *r)
{
    return raft__log_last_term(&r->log);
}
raft_index raft_snapshot_index(const struct raft *r)
{
    return r->log.offset;
}
raft_term raft_snapshot_term(const struct raft *r)
{
    return r->log.offset_term;
}
raft_index raft_first_index(const struct raft *r)
{
    return r->log.offset + 1;
}
raft_term raft_term_at(const struct raft *r, raft_index index)
{
    return raft__log_term_at(&r->log, index);
}

const struct raft_entry *raft_entry_at(const struct raft *r, raft_index index)
{
    return raft__log_entry_at(&r->log, index);
}

bool raft_progress(const struct raft *r, raft_id id, raft_index *next_index,
                   raft_index *match_index)
{
    if (r->role != RAFT_LEADER || !raft__progress_member(r, id))
        return false;
    if (next_index)
        *next_index = r->progress[id].next_index;
    if (match_index)
        *match_index = r->progress[id].match_index;
    return true;
}

bool raft_follower_silent(const struct raft *r, raft_id id)
{
    if (r->role != RAFT_LEADER || !raft__progress_member(r, id))
        return false;
    return !r->progress[id].active;
}
