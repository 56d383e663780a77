/* raft.h: the pure Raft core (Ongaro & Ousterhout 2014, Figure 2), driven by events.
 *
 * The core owns no socket, clock, file or random source. The caller feeds it
 * time (raft_tick), messages (raft_step), commands (raft_propose) and the news
 * that a write reached stable storage (raft_persisted). After any of these it
 * takes a struct raft_ready that says what to do, in this order:
 *
 *   1. send every message with after_persist == false (the leader's
 *      AppendEntries, sent while the leader writes its own log: §10.2.1 of
 *      Ongaro's dissertation);
 *   2. make durable: the hard state (term, voted_for) if hard_state_changed,
 *      then the log: drop every stable entry at index >= persist_from and
 *      append entries[0..n_entries);
 *   3. send the messages with after_persist == true, and call
 *      raft_persisted(r, ready.seq);
 *   4. apply committed[0..n_committed) to the state machine, in order, and
 *      serve the reads in reads[] once the state machine has applied their index.
 *
 * Persistence may also be asynchronous (the simulator does that): steps 1 to 4
 * may interleave with further calls, as long as writes reach the disk in the
 * order of their ready.seq and after_persist messages wait for their own write.
 *
 * Every pointer in a ready is borrowed from the core and valid until the next
 * call to any raft_* function that takes a non-const struct raft.
 */
#ifndef RAFT_H
#define RAFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint64_t raft_term;
typedef uint64_t raft_index;
typedef uint64_t raft_time; /* milliseconds on any monotonic clock the caller likes */
typedef int raft_id;        /* peers are numbered 1..RAFT_MAX_PEERS; 0 means nobody */

#define RAFT_NOBODY    0
#define RAFT_MAX_PEERS 16

/* Error codes returned by the functions below. */
enum raft_error {
    RAFT_OK = 0,
    RAFT_ENOMEM = -1,     /* out of memory: nothing changed */
    RAFT_ENOTLEADER = -2, /* only the leader can do that */
    RAFT_EINVAL = -3,     /* the arguments or the message are malformed */
    RAFT_EBUSY = -4,      /* too many uncommitted entries: push back on clients */
    RAFT_ESTOPPED = -5,   /* raft_stop() was called: no more acknowledgements */
    /* raft_change_membership (membership.c, docs/MEMBERSHIP.md): */
    RAFT_ECHANGE_PENDING = -6, /* another configuration change is not committed yet */
    RAFT_ENOT_READY = -7,      /* this leader has not committed an entry of its term yet */
    RAFT_EUNKNOWN_PEER = -8,   /* not a member (promote, remove), or not a peer id at all */
    RAFT_EEXISTS = -9,         /* already a member (add) or already a voter (promote) */
    RAFT_ELAST_VOTER = -10,    /* removing the only voter would leave nobody to decide */
    RAFT_ENOT_CAUGHT_UP = -11, /* §4.2.1: the learner has not caught up with the log yet */
};
const char *raft_strerror(int err);

enum raft_role {
    RAFT_FOLLOWER = 0,
    RAFT_PRE_CANDIDATE = 1, /* dissertation §9.6: asking whether an election could win */
    RAFT_CANDIDATE = 2,
    RAFT_LEADER = 3,
};
const char *raft_role_name(enum raft_role role);

enum raft_entry_type {
    RAFT_ENTRY_COMMAND = 1, /* opaque bytes for the state machine */
    RAFT_ENTRY_NOOP = 2,    /* appended by each new leader (§8: commit an entry of its term) */
    RAFT_ENTRY_CONFIG = 3,  /* a configuration (raft_configuration_encode), §4.1 */
};

/* A configuration (dissertation §4.1): which peers vote and which only follow the log
 * (learners, §4.2.1). Bit id of a mask stands for peer id; bit 0 is never set, and no
 * peer is both. A server uses the latest configuration in its log, committed or not. */
struct raft_configuration {
    uint32_t voters;
    uint32_t learners;
};

/* Longest encoding: "voters=1,2,...,16;learners=" is 55 bytes. */
#define RAFT_CONFIGURATION_MAX 64

/* Voters 1..n, no learners: the configuration a fresh cluster of n peers starts with. */
struct raft_configuration raft_configuration_bootstrap(int n);
bool raft_configuration_is_voter(const struct raft_configuration *c, raft_id id);
bool raft_configuration_is_learner(const struct raft_configuration *c, raft_id id);
bool raft_configuration_is_member(const struct raft_configuration *c, raft_id id);
int raft_configuration_n_voters(const struct raft_configuration *c);
/* The bytes of a RAFT_ENTRY_CONFIG entry (and of a snapshot's configuration): printable
 * ASCII such as "voters=1,2,3;learners=4" (ids ascending), so that they travel, are
 * stored and are read like any command. Returns the length (no NUL is written). */
size_t raft_configuration_encode(const struct raft_configuration *c,
                                 uint8_t out[RAFT_CONFIGURATION_MAX]);
/* RAFT_OK, or RAFT_EINVAL for bytes this encoder would not write (hostile input is
 * refused: the exact canonical form only). */
int raft_configuration_decode(const uint8_t *data, size_t len, struct raft_configuration *c);

/* Single-server membership changes (§4.1), proposed on the leader. */
enum raft_change {
    RAFT_CHANGE_ADD_LEARNER = 1, /* a new peer joins as a learner (§4.2.1) */
    RAFT_CHANGE_PROMOTE = 2,     /* a caught-up learner becomes a voter */
    RAFT_CHANGE_REMOVE = 3,      /* a voter or a learner leaves (the leader too: §4.2.2) */
};
const char *raft_change_name(enum raft_change op);

/* One log entry. In a ready the bytes are borrowed; the core copies what it keeps. */
struct raft_entry {
    raft_term term;
    uint8_t type;  /* enum raft_entry_type */
    uint32_t len;  /* bytes in data */
    uint8_t *data; /* may be NULL when len == 0 */
};

enum raft_message_type {
    RAFT_MSG_REQUEST_VOTE = 1,
    RAFT_MSG_REQUEST_VOTE_RESULT = 2,
    RAFT_MSG_APPEND_ENTRIES = 3,
    RAFT_MSG_APPEND_ENTRIES_RESULT = 4,
    RAFT_MSG_TIMEOUT_NOW = 5, /* dissertation §3.10: leadership transfer */
};
const char *raft_message_type_name(enum raft_message_type type);

/* Figure 2, RequestVote RPC arguments. */
struct raft_request_vote {
    raft_index last_log_index;
    raft_term last_log_term;
    bool pre_vote; /* §9.6: term is candidate's term + 1, nothing changes on receipt */
    /* §3.10: started by a TimeoutNow from the leader of term - 1. Voters of that term let
     * it past the §4.2.3 lease; its leader only while its transfer to the candidate is
     * live (transfer.c says why that is enough). */
    bool leadership_transfer;
};

/* Figure 2, RequestVote RPC results. */
struct raft_request_vote_result {
    bool vote_granted;
    bool pre_vote; /* answers a pre-vote */
};

/* Dissertation §3.10, TimeoutNow: names the transfer it belongs to. The leader's log
 * does not grow while it hands over, so its last index then identifies the transfer
 * (with the message's term and from); a target whose log holds more of that term knows
 * the leader has since given the transfer up. */
struct raft_timeout_now {
    raft_index last_log_index; /* the leader's, when it sent this */
};

/* Figure 2, AppendEntries RPC arguments (leader_id is the message's from). */
struct raft_append_entries {
    raft_index prev_log_index;
    raft_term prev_log_term;
    raft_index leader_commit;
    uint64_t read_round; /* §6.4 ReadIndex: echoed back so the leader knows it still leads */
    uint32_t n_entries;
    struct raft_entry *entries;
};

/* Figure 2, AppendEntries RPC results, with §5.3's hint for backing up nextIndex. */
struct raft_append_entries_result {
    bool success;
    raft_index match_index;    /* success: last index known to match the leader's log */
    raft_index rejected_index; /* failure: the prev_log_index that did not match */
    raft_term conflict_term;   /* failure: term of the follower's entry there, 0 if none */
    raft_index conflict_index; /* failure: first index of conflict_term, or last index + 1 */
    raft_index last_log_index; /* the follower's last log index (for display and probing) */
    uint64_t read_round;       /* echo of the request's read_round */
};

struct raft_message {
    enum raft_message_type type;
    raft_id from;
    raft_id to;
    raft_term term;
    bool after_persist; /* send only once this ready's writes are durable */
    union {
        struct raft_request_vote request_vote;
        struct raft_request_vote_result request_vote_result;
        struct raft_append_entries append_entries;
        struct raft_append_entries_result append_entries_result;
        struct raft_timeout_now timeout_now;
    } u;
};

/* A linearizable read whose read index is known (dissertation §6.4). */
struct raft_read {
    uint64_t ctx;     /* the caller's handle, from raft_read_index() */
    raft_index index; /* serve the read once the state machine has applied this index */
};

/* The leader needs its snapshot sent to a follower whose next entries were compacted
 * away (Figure 13's InstallSnapshot, done in chunks by the caller). */
struct raft_snapshot_request {
    raft_id to;
    raft_index index;                        /* the snapshot's last included index */
    raft_term term;                          /* the term of that entry */
    struct raft_configuration configuration; /* the configuration at index: send it along */
};

struct raft_ready {
    uint64_t seq; /* give back to raft_persisted() once the writes below are durable */

    /* A snapshot was installed (raft_install_snapshot): drop every stable entry with
     * index <= snapshot_index before the log changes below. */
    bool snapshot_installed;
    raft_index snapshot_index;
    raft_term snapshot_term;

    bool hard_state_changed;
    raft_term term;
    raft_id voted_for;

    bool log_changed;        /* persist_from and entries are meaningful */
    raft_index persist_from; /* drop stable entries >= this index, then append entries */
    const struct raft_entry *entries;
    size_t n_entries;

    const struct raft_message *messages;
    size_t n_messages;

    raft_index apply_from; /* index of committed[0] */
    const struct raft_entry *committed;
    size_t n_committed;

    const struct raft_snapshot_request *snapshot_requests;
    size_t n_snapshot_requests;

    const struct raft_read *reads;
    size_t n_reads;
    const uint64_t *failed_reads; /* ctx of reads that can no longer be served (lost leadership) */
    size_t n_failed_reads;
};

/* Structured trace events: the daemon turns them into log lines, tests observe them. */
enum raft_trace_type {
    RAFT_TRACE_ROLE,           /* role changed: a = new role, b = old role */
    RAFT_TRACE_TERM,           /* term changed: a = new term, b = old term */
    RAFT_TRACE_ELECTION_START, /* a = term campaigned for, b = 1 if pre-vote */
    RAFT_TRACE_VOTE, /* peer = candidate, a = 1 granted / 0 refused, b = 1 if pre-vote, c = reason
                      */
    RAFT_TRACE_VOTE_RECEIVED, /* peer = voter, a = votes so far, b = 1 if pre-vote */
    RAFT_TRACE_LEADER,        /* peer = leader now known (RAFT_NOBODY if none) */
    RAFT_TRACE_COMMIT,        /* a = new commit index, b = old commit index */
    RAFT_TRACE_TRUNCATE,      /* a = first index dropped, b = last index dropped */
    RAFT_TRACE_STEP_DOWN,     /* a = reason (enum raft_step_down_reason) */
    RAFT_TRACE_PEER_ACTIVE,   /* peer = follower that answered again after silence */
    RAFT_TRACE_PEER_INACTIVE, /* peer = follower silent for an election timeout */
    RAFT_TRACE_TRANSFER,      /* peer = transfer target, a = 1 started / 0 aborted */
    RAFT_TRACE_CONFIGURATION, /* the configuration in use changed: a = voters, b = learners,
                                 c = index of its entry (0: a snapshot's or the bootstrap) */
    RAFT_TRACE_CAUGHT_UP,     /* peer = learner that finished a catch-up round in time (§4.2.1) */
};

enum raft_vote_reason {
    RAFT_VOTE_OK = 0,
    RAFT_VOTE_STALE_TERM = 1, /* candidate's term is older than ours */
    RAFT_VOTE_ALREADY_VOTED = 2,
    RAFT_VOTE_LOG_BEHIND = 3,   /* §5.4.1: candidate's log is not up to date */
    RAFT_VOTE_LEADER_ALIVE = 4, /* §4.2.3: we heard from a leader within the minimum timeout */
};

enum raft_step_down_reason {
    RAFT_STEP_DOWN_HIGHER_TERM = 1,
    RAFT_STEP_DOWN_CHECK_QUORUM = 2, /* §6.2: no majority heard within an election timeout */
    RAFT_STEP_DOWN_STOPPED = 3,      /* the caller stopped acknowledging (disk failure) */
    RAFT_STEP_DOWN_TRANSFERRED = 4,
    RAFT_STEP_DOWN_REMOVED = 5, /* §4.2.2: the configuration that removed us committed */
};

struct raft_trace {
    enum raft_trace_type type;
    raft_id peer;
    raft_term term; /* current term when the event happened */
    uint64_t a, b, c;
};

typedef void (*raft_trace_fn)(void *ctx, const struct raft_trace *trace);

/* Deliberate bugs, compiled in only with -DRAFT_MUTATIONS so tests can prove the
 * simulator catches them. */
enum raft_mutation {
    RAFT_MUTATE_NONE = 0,
    RAFT_MUTATE_VOTE_IGNORES_LOG = 1 << 0,    /* grant votes without §5.4.1's check */
    RAFT_MUTATE_COMMIT_OLD_TERM = 1 << 1,     /* count replicas of older-term entries (Figure 8) */
    RAFT_MUTATE_VOTE_BEFORE_PERSIST = 1 << 2, /* reply to RequestVote before the vote is durable */
    RAFT_MUTATE_ACK_BEFORE_PERSIST = 1 << 3,  /* acknowledge entries before they are durable */
    RAFT_MUTATE_NO_TRUNCATE = 1 << 4,         /* skip conflict truncation; overwrite in place */
    RAFT_MUTATE_CONFIG_ON_COMMIT = 1 << 5,    /* use a configuration once committed, not appended */
    RAFT_MUTATE_TWO_CHANGES = 1 << 6,         /* allow a change while another is uncommitted */
    RAFT_MUTATE_CHANGE_BEFORE_OWN_TERM = 1 << 7, /* change before committing an own-term entry */
    RAFT_MUTATE_VOTE_FROM_NON_MEMBER = 1 << 8,   /* count votes of learners and non-members */
    RAFT_MUTATE_SNAPSHOT_STALE_TERM = 1 << 9, /* raft_snapshot_check passes a leader's term over */
    /* serve reads with no majority's heartbeat round (§6.4 step 3) */
    RAFT_MUTATE_READ_WITHOUT_ROUND = 1 << 10,
};

/* What an entry costs in max_inflight_bytes beside its data: about its framing in an
 * AppendEntries, so small entries are not counted as free. */
#define RAFT_ENTRY_OVERHEAD 48

struct raft_config {
    raft_id id; /* this peer, 1..RAFT_MAX_PEERS; the configuration comes from the boot state */
    raft_time election_timeout_min;
    raft_time election_timeout_max;
    raft_time heartbeat_interval;
    uint64_t seed;     /* seeds the core's own PRNG (randomized timeouts) */
    bool pre_vote;     /* §9.6 */
    bool check_quorum; /* §6.2 leader steps down; §4.2.3 voters ignore disruptors */
    /* raft_peer_disconnected may hurry an election when the leader's connection closes.
     * Off, a lost leader is noticed only by the election timeout, as in the paper. */
    bool fast_failover;
    uint32_t max_entries_per_message; /* batching bound for one AppendEntries */
    uint32_t max_bytes_per_message;
    uint32_t max_inflight; /* pipelined AppendEntries per follower not yet answered */
    /* ...and the bytes they may carry, each entry counted as its data plus
     * RAFT_ENTRY_OVERHEAD; 0: no bound. A follower that stops reading while it still
     * counts as active (up to an election timeout) is sent about this much: the window
     * (its last batch may pass the bound), then one probe's batch, then empty probes. */
    uint32_t max_inflight_bytes;
    uint32_t max_uncommitted; /* raft_propose answers RAFT_EBUSY past this many */
    unsigned mutations;       /* enum raft_mutation bits; ignored unless RAFT_MUTATIONS */
    raft_trace_fn trace;
    void *trace_ctx;
};

/* Fills cfg with sensible defaults for everything except id. */
void raft_config_defaults(struct raft_config *cfg);

/* What the caller recovered from stable storage. Entries are copied. */
struct raft_boot_state {
    raft_term term;
    raft_id voted_for;
    raft_index snapshot_index; /* 0 when there is no snapshot; the state machine holds it */
    raft_term snapshot_term;
    const struct raft_entry *entries; /* entries[0] is index snapshot_index + 1 */
    size_t n_entries;
    /* The configuration at snapshot_index: the snapshot's, or, when the log starts at
     * index 1, the bootstrap configuration (raft_configuration_bootstrap(n) for a cluster
     * of n; empty for a peer that joins a running cluster: it waits to be added and
     * never campaigns). Configuration entries among entries override it (§4.1). */
    struct raft_configuration configuration;
};

struct raft;

/* Creates a follower at time now from what was durable (boot NULL: nothing at all, not even
 * a configuration). NULL on bad config or no memory. */
struct raft *raft_new(const struct raft_config *cfg, const struct raft_boot_state *boot,
                      raft_time now);
void raft_free(struct raft *r);

/* Events. Each returns RAFT_OK or a negative enum raft_error. */
int raft_tick(struct raft *r, raft_time now);
int raft_step(struct raft *r, const struct raft_message *m, raft_time now);
/* Appends a command entry on the leader; *index receives its log index. */
int raft_propose(struct raft *r, const void *data, uint32_t len, raft_index *index);
/* Asks for a linearizable read; the answer comes in a later ready's reads or failed_reads. */
int raft_read_index(struct raft *r, uint64_t ctx);
/* Writes of every ready up to seq are durable. */
int raft_persisted(struct raft *r, uint64_t seq);
/* §3.10: hand leadership to target. Gives up after an election timeout (transfer.c). */
int raft_transfer_leadership(struct raft *r, raft_id target);
/* Log compaction (§7): the caller saved a snapshot of the state machine covering
 * every entry up to index (at most raft_last_applied and raft_persisted_index) and
 * the core drops them. */
int raft_compact(struct raft *r, raft_index index);
/* The configuration at index (first index - 1 .. last index): the one a snapshot up to
 * index must carry. RAFT_EINVAL when index is outside that range. */
int raft_configuration_at(const struct raft *r, raft_index index, struct raft_configuration *out);
/* Leader: the transfer of the snapshot at index, asked for in a ready, ended. On failure
 * the core asks again later; on success it waits for the follower's acknowledgement,
 * unless the log was compacted past index meanwhile: then it asks for the newer one. */
void raft_snapshot_sent(struct raft *r, raft_id id, raft_index index, bool ok);
/* Follower: a chunk of a snapshot arrived from leader in term. Applies the same term
 * rules as AppendEntries (recognise the leader, reset the election timer). RAFT_OK to
 * accept the chunk; RAFT_EINVAL when term is stale (answer with raft_current_term). */
int raft_snapshot_chunk(struct raft *r, raft_id leader, raft_term term, raft_time now);
/* Follower: whether raft_install_snapshot would take this snapshot now, changing
 * nothing: RAFT_OK, or the error it would return, with *why (when why is not NULL) a
 * phrase naming the rule (RAFT_EINVAL: a stale term, a last included term after the
 * leader's, an invalid configuration, a leader that names no other peer: an id out of
 * range or our own; RAFT_ESTOPPED). The caller asks before it makes the received
 * snapshot its own on disk, which must come before raft_install_snapshot. */
int raft_snapshot_check(const struct raft *r, raft_id leader, raft_term term, raft_term last_term,
                        const struct raft_configuration *configuration, const char **why);
/* Follower: the whole snapshot (last included index and term, and the configuration at
 * that index) is durable and loaded into the state machine. The core rebuilds its log
 * around it and acknowledges it. Refuses what raft_snapshot_check refuses. */
int raft_install_snapshot(struct raft *r, raft_id leader, raft_term term, raft_index index,
                          raft_term last_term, const struct raft_configuration *configuration,
                          raft_time now);
/* An answer outside the core's own messages (a snapshot chunk's) carried term. */
void raft_observe_term(struct raft *r, raft_id from, raft_term term);
/* The caller saw its connection to peer id closed (the peer's process died and its
 * kernel closed the socket). Tell it about every peer: the core knows who leads. A
 * follower that loses its current leader this way stops counting on it (§4.2.3's lease
 * no longer holds) and, with PreVote and fast_failover, campaigns after a short random
 * delay instead of a whole election timeout. Any other peer's connection (another follower's)
 * changes nothing: the lease still holds and the election timer keeps its deadline. Only timing
 * changes: a leader that is in fact alive still wins, because the other followers refuse the
 * pre-vote. */
void raft_peer_disconnected(struct raft *r, raft_id id);
/* Changes the election timeout range and the heartbeat interval at runtime (a
 * classroom slows the whole cluster down to a pace people can follow) and switches
 * fast_failover. The same rules as raft_new's config: 0 < heartbeat_interval <
 * election_timeout_min <= election_timeout_max, else RAFT_EINVAL and nothing changes.
 * The timers already running restart at the new pace from now: a follower or candidate
 * draws a new election timeout, a leader sends its next heartbeat within the new
 * interval and starts a new CheckQuorum round. */
int raft_set_timing(struct raft *r, raft_time election_timeout_min, raft_time election_timeout_max,
                    raft_time heartbeat_interval, bool fast_failover);
/* Leader: the caller dropped messages for follower id that it had queued but not yet
 * written (etcd's ReportUnreachable), typically because id has been silent for an
 * election timeout (raft_follower_silent) and its queue was given up. Nothing sent
 * since its last acknowledgement counts as delivered: its progress goes back to probe
 * at matchIndex + 1, and replication resumes from there, or with a snapshot if those
 * entries were compacted meanwhile, once it answers. A follower being sent a snapshot
 * keeps that state (the transfer resends its chunk). No effect on a non-leader. */
void raft_peer_unreachable(struct raft *r, raft_id id);
/* The caller can no longer make writes durable (disk full, I/O error): step down
 * and never again acknowledge anything. */
void raft_stop(struct raft *r);

/* True when there is something in the next ready. */
bool raft_has_ready(const struct raft *r);
/* Collects everything to do since the previous call. */
void raft_take_ready(struct raft *r, struct raft_ready *ready);
/* When raft_tick must be called next, at the latest. */
raft_time raft_next_deadline(const struct raft *r);

/* Leader: appends a configuration entry with one server added as a learner, promoted to
 * voter, or removed (§4.1); *index receives the entry's index, and the change is done
 * once that index commits. Refused with RAFT_ENOT_READY until this leader has committed
 * an entry of its own term (Ongaro, raft-dev 2015) and with RAFT_ECHANGE_PENDING while
 * another change is uncommitted; the other refusals are in enum raft_error. */
int raft_change_membership(struct raft *r, enum raft_change op, raft_id id, raft_index *index);

/* §4.2.1 catch-up of a learner, as its leader sees it. */
struct raft_catch_up {
    unsigned round;         /* rounds started so far (1 while the first runs) */
    raft_index round_until; /* the round ends when the learner's log reaches this index */
    raft_time round_start;
    bool caught_up; /* a round took less than an election timeout: it may be promoted */
};

/* Read-only views, for the daemon's status and the simulator's invariants. */
raft_id raft_id_of(const struct raft *r);
/* The configuration in use: the latest in the log, committed or not (§4.1). */
const struct raft_configuration *raft_configuration(const struct raft *r);
raft_index raft_configuration_index(const struct raft *r); /* its entry; 0 from a snapshot */
bool raft_configuration_pending(const struct raft *r);     /* its entry is not committed */
/* Leader only: false when not leader, or id is not a learner. */
bool raft_catch_up(const struct raft *r, raft_id id, struct raft_catch_up *out);
enum raft_role raft_role(const struct raft *r);
raft_term raft_current_term(const struct raft *r);
raft_id raft_voted_for(const struct raft *r);
raft_id raft_leader(const struct raft *r);
raft_index raft_commit_index(const struct raft *r);
raft_index raft_last_applied(const struct raft *r);
raft_index raft_persisted_index(const struct raft *r);
raft_index raft_last_index(const struct raft *r);
raft_term raft_last_term(const struct raft *r);
raft_index raft_first_index(const struct raft *r);
raft_index raft_snapshot_index(const struct raft *r);
raft_term raft_snapshot_term(const struct raft *r);
/* NULL when index is outside the log. */
const struct raft_entry *raft_entry_at(const struct raft *r, raft_index index);
raft_term raft_term_at(const struct raft *r, raft_index index);
/* Leader only: what it knows of follower id. False when not leader, id is self or not a
 * member. */
bool raft_progress(const struct raft *r, raft_id id, raft_index *next_index,
                   raft_index *match_index);
/* Leader only: follower id has not answered for an election timeout (the
 * RAFT_TRACE_PEER_INACTIVE trace) and not since. While it is silent it is sent only
 * heartbeats and empty probes, never entries, and no snapshot is asked for it; the
 * caller should queue no more for it than those, and may give up a snapshot transfer
 * to it (raft_snapshot_sent, not ok). False when not leader, for self, and once it
 * answers again. */
bool raft_follower_silent(const struct raft *r, raft_id id);
/* Election timer: how far along it is, 0..1000 per mille (for the game). */
unsigned raft_election_progress(const struct raft *r, raft_time now);

#endif
