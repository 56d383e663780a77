/* state.h: the core's private state and the functions its files share. Never included by callers.
 *
 * Naming: libraft_core.a is linked into programs with their own log_init or majority, so
 * every global symbol of the core starts with raft_. The public API (raft.h) is raft_<name>;
 * what the core's files share among themselves is raft__<name> (two underscores,
 * as libuv's uv__ does), so a reader can tell the two apart and the linker never meets a
 * bare name. A function one file uses alone is static there and keeps a short name.
 * tests/check_core_symbols.sh (make purity) fails on any global symbol that breaks this.
 *
 * Preconditions and invariants are assert()ed (<assert.h> is pure: it does nothing until an
 * assertion fails, and then the core is wrong anyway). The public functions still return
 * errors for bad input a caller or a peer may send (a malformed message, an id out of
 * range); assertions state what only a bug in the core, or a caller breaking raft.h's
 * contract, can break. invariants.c checks the state between any two calls.
 */
#ifndef RAFT_STATE_H
#define RAFT_STATE_H

#include "raft_peer/core/raft.h"

#ifdef RAFT_MUTATIONS
#define MUTATED(r, bit) (((r)->cfg.mutations & (bit)) != 0)
#else
#define MUTATED(r, bit) 0
#endif

/* The in-memory log. entries[0] holds index offset + 1. */
struct raft_log {
    struct raft_entry *entries;
    size_t n;
    size_t cap;
    raft_index offset;
    raft_term offset_term;
};

enum progress_state {
    PROGRESS_PROBE,     /* one AppendEntries at a time until we find where logs match */
    PROGRESS_REPLICATE, /* logs match: stream batches without waiting (pipelining) */
    PROGRESS_SNAPSHOT,  /* what it needs was compacted: the caller is sending our snapshot */
};

/* One AppendEntries of a replicating follower's pipeline, not yet answered. */
struct inflight_batch {
    raft_index last; /* its last entry */
    uint64_t bytes;  /* its entries' data, plus RAFT_ENTRY_OVERHEAD for each */
};

/* Figure 2's nextIndex and matchIndex, plus what pipelining and CheckQuorum need. */
struct progress {
    raft_index next_index;
    raft_index match_index;
    enum progress_state state;
    bool probe_sent; /* probe: an AppendEntries is out; wait for a reply or heartbeat */
    struct inflight_batch *inflight; /* ring of unanswered batches (replicate) */
    uint32_t inflight_head;
    uint32_t inflight_count;
    uint64_t inflight_bytes;     /* the sum of the ring's bytes */
    raft_time inflight_since;    /* the window's oldest batch went out, or the last answer came */
    raft_index pending_snapshot; /* snapshot state: the index being sent */
    bool recent_active;          /* answered since the last CheckQuorum round */
    bool active;                 /* for tracing a follower going silent and coming back */
    raft_time last_response;
    uint64_t read_round_acked; /* §6.4: highest read_round echoed back this term */
    /* §4.2.1 catch-up rounds (membership.c); meaningful for learners. */
    unsigned round;
    raft_index round_until; /* the leader's last index when the round started */
    raft_time round_start;
    bool caught_up;
};

struct pending_read {
    uint64_t ctx;
    raft_index index;
    uint64_t round;
};

/* A ready taken but not yet reported durable by raft_persisted(). */
struct pending_write {
    uint64_t seq;
    raft_index last_index; /* memory log prefix the write makes durable, clamped by truncations */
    raft_term term;
};

/* A growable array of a given element type, used for the outbox and friends. */
#define VEC(type)                                                                                  \
    struct {                                                                                       \
        type *items;                                                                               \
        size_t n;                                                                                  \
        size_t cap;                                                                                \
    }
int raft__vec_reserve(void **items, size_t *cap, size_t want, size_t size);
#define VEC_PUSH(r, vec, value)                                                                    \
    (raft__vec_reserve((void **)&(vec).items, &(vec).cap, (vec).n + 1, sizeof(*(vec).items)) == 0  \
         ? ((vec).items[(vec).n++] = (value), 0)                                                   \
         : ((r)->oom = true, -1))

struct raft {
    struct raft_config cfg;
    raft_time now;
    uint64_t prng;

    /* Figure 2: persistent state on all servers. */
    raft_term current_term;
    raft_id voted_for;
    struct raft_log log;

    /* Figure 2: volatile state on all servers. */
    raft_index commit_index;
    raft_index last_applied;

    enum raft_role role;
    raft_id leader_id;
    bool stopped;
    bool oom; /* an allocation failed: report RAFT_ENOMEM from the current call */

    /* Timers. */
    raft_time election_start;
    raft_time election_deadline;
    raft_time heartbeat_deadline;
    raft_time quorum_deadline;
    raft_time last_heard_leader; /* §4.2.3: when a leader last proved itself */
    bool heard_leader;

    /* Elections: votes[id] is 1 granted, -1 refused, 0 unknown. */
    int votes[RAFT_MAX_PEERS + 1];
    bool campaign_transfer; /* the (pre-)election under way answers a TimeoutNow (§3.10) */

    /* §4.1: the configuration in use is the latest in the log (configuration.c). */
    struct raft_configuration snap_conf; /* at log.offset: the snapshot's or the bootstrap */
    struct raft_configuration conf;      /* in use */
    raft_index conf_index;               /* its entry; 0 when it is snap_conf */
    struct raft_configuration conf_prev; /* in use before conf_index's entry was appended */
    struct raft_configuration conf_last; /* latest in the log (== conf unless mutated) */
    raft_index conf_last_index;

    /* Figure 2: volatile state on leaders. */
    struct progress progress[RAFT_MAX_PEERS + 1];
    uint32_t progress_members;      /* bit id: progress[id] is set up (raft__progress_sync) */
    raft_index leader_first_index;  /* the no-op this leader appended (§8) */
    bool replicate_pending;         /* new entries to stream at the next flush */
    raft_id transfer_target;        /* §3.10: the live transfer's target, RAFT_NOBODY if none */
    raft_time transfer_deadline;    /* when the leader gives the transfer up */
    bool transfer_timeout_now_sent; /* the live transfer's TimeoutNow may be on the wire */

    /* §6.4 ReadIndex. */
    uint64_t read_round;
    bool read_broadcast_pending;
    VEC(struct pending_read) reads_pending;

    /* Durability bookkeeping. */
    bool hard_state_dirty;
    raft_index unstable_from;  /* first memory entry that differs from what was handed out */
    bool truncated_unreported; /* a truncation the next ready must pass on */
    raft_index persisted_index;
    raft_term durable_term;
    uint64_t ready_seq;
    VEC(struct pending_write) writes;

    /* The outbox: what the next ready reports. Message entries are owned copies. */
    bool ready_taken; /* the outbox was handed out and is cleared at the next call */
    VEC(struct raft_message) outbox;
    VEC(struct raft_read) reads_ready;
    VEC(uint64_t) reads_failed;
    VEC(struct raft_snapshot_request) snapshot_requests;
    bool snapshot_installed; /* the next ready tells the caller to drop its stable prefix */
};

/* ready.c */
void raft__ready_reset_if_taken(struct raft *r);
void raft__ready_free(struct raft *r);
int raft__outbox_push(struct raft *r, const struct raft_message *m);
void raft__trace_emit(struct raft *r, enum raft_trace_type type, raft_id peer, uint64_t a,
                      uint64_t b, uint64_t c);

/* invariants.c: asserts what holds between any two calls into the core. */
void raft__assert_invariants(const struct raft *r);

/* configuration.c */
bool raft__configuration_valid(const struct raft_configuration *c);
bool raft__configuration_entry_valid(const struct raft_entry *e);
void raft__conf_rebuild(struct raft *r);
bool raft__conf_is_voter(const struct raft *r, raft_id id);
int raft__majority(const struct raft *r);
uint32_t raft__conf_replication_set(const struct raft *r);
bool raft__conf_may_campaign(const struct raft *r);
#define FOR_EACH_PEER(id, set)                                                                     \
    for (raft_id id = 1; id <= RAFT_MAX_PEERS; id++)                                               \
        if (((set) & ((uint32_t)1 << id)) != 0)

/* membership.c */
void raft__catch_up_progress(struct raft *r, raft_id id);
void raft__membership_committed(struct raft *r);

/* log.c */
void raft__log_init(struct raft_log *log);
void raft__log_free(struct raft_log *log);
raft_index raft__log_last_index(const struct raft_log *log);
raft_term raft__log_last_term(const struct raft_log *log);
raft_term raft__log_term_at(const struct raft_log *log, raft_index index); /* 0 if absent */
struct raft_entry *raft__log_entry_at(const struct raft_log *log, raft_index index);
int raft__log_append(struct raft_log *log, const struct raft_entry *e); /* copies data */
void raft__log_truncate(struct raft_log *log, raft_index from);         /* drops from..last */
void raft__log_compact(struct raft_log *log, raft_index upto, raft_term term); /* drops ..upto */
raft_index raft__log_first_index_of_term(const struct raft_log *log, raft_index index);
raft_index raft__log_last_index_of_term(const struct raft_log *log, raft_term term);
void raft__note_truncated(struct raft *r, raft_index from);

/* progress.c */
int raft__progress_init_all(struct raft *r);
void raft__progress_sync(struct raft *r);
bool raft__progress_member(const struct raft *r, raft_id id);
void raft__progress_free_all(struct raft *r);
void raft__progress_become_probe(struct raft *r, struct progress *p);
void raft__progress_become_replicate(struct progress *p);
bool raft__progress_inflight_full(const struct raft *r, const struct progress *p);
void raft__progress_inflight_add(const struct raft *r, struct progress *p, raft_index last,
                                 uint64_t bytes);
void raft__progress_inflight_clear(struct progress *p);
void raft__progress_inflight_free_to(const struct raft *r, struct progress *p, raft_index index);
void raft__progress_heard_from(struct raft *r, raft_id id);

/* convert.c: role changes only (Figure 2, "Rules for Servers"). */
void raft__convert_to_follower(struct raft *r, raft_term term, raft_id leader);
void raft__convert_to_pre_candidate(struct raft *r);
void raft__convert_to_candidate(struct raft *r, bool leadership_transfer);
void raft__convert_to_leader(struct raft *r);
void raft__set_leader(struct raft *r, raft_id leader);

/* election.c */
void raft__election_reset_timer(struct raft *r);
void raft__election_start(struct raft *r, bool pre_vote, bool leadership_transfer);
bool raft__election_log_up_to_date(const struct raft *r, raft_index last_index,
                                   raft_term last_term);
int raft__election_tally(const struct raft *r, int *refused);
uint64_t raft__prng_next(struct raft *r);

/* transfer.c */
void raft__transfer_send_timeout_now(struct raft *r, raft_id target);
int raft__transfer_abandon(struct raft *r);

/* replication.c */
/* Why the leader sends a follower an AppendEntries. */
enum send_reason {
    SEND_NEW,       /* entries it has not been sent, if any (and the window allows) */
    SEND_HEARTBEAT, /* the heartbeat interval: always something; a probe is sent again */
    SEND_READ,      /* a ReadIndex round (§6.4): always something, carrying the round, but
                     * no entries sent again: reads can come far oftener than heartbeats */
};
void raft__replication_send_append(struct raft *r, raft_id id, enum send_reason why);
void raft__replication_send_farewell(struct raft *r, raft_id id);
void raft__replication_broadcast(struct raft *r, enum send_reason why);
void raft__replication_flush(struct raft *r);
void raft__replication_maybe_commit(struct raft *r);
void raft__replication_set_commit(struct raft *r, raft_index commit);

/* read_index.c */
void raft__read_index_check(struct raft *r);
void raft__read_index_fail_all(struct raft *r);

/* recv_*.c: one handler per message type, called by recv.c after the term rules. */
void raft__recv_request_vote(struct raft *r, const struct raft_message *m);
void raft__recv_request_vote_result(struct raft *r, const struct raft_message *m);
void raft__recv_append_entries(struct raft *r, const struct raft_message *m);
void raft__recv_append_entries_result(struct raft *r, const struct raft_message *m);
void raft__recv_timeout_now(struct raft *r, const struct raft_message *m);

#endif
