/* sim.h: one simulated run: real Raft cores over a simulated network, disk and clock, all from one
 * seed. */
#ifndef SIM_H
#define SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "raft_peer/core/raft.h"
#include "sim_disk.h"
#include "sim_invariants.h"
#include "sim_log.h"
#include "sim_network.h"
#include "sim_queue.h"
#include "sim_rng.h"
#include "sim_trace.h"

#define SIM_MAX_NODES     7
#define SIM_LIVE_CMDS_MAX 8

enum sim_ev_type {
    SIM_EV_TICK = 1, /* node's election/heartbeat deadline */
    SIM_EV_DELIVER,  /* ptr: the message; flags & SIM_EV_BAD: a deliberately malformed copy */
    SIM_EV_DISK,     /* aux: serial of the write that completes */
    SIM_EV_CRASH,
    SIM_EV_RESTART,
    SIM_EV_CHAOS,   /* the next fault action */
    SIM_EV_PROPOSE, /* the client's command stream */
    SIM_EV_READ,    /* the client's linearizable reads */
    SIM_EV_HEAL,    /* end of the fault phase */
    SIM_EV_LIVE,    /* the post-heal client: retries until everything is applied */
    SIM_EV_DEADLINE,
    SIM_EV_SNAP_CHUNK,   /* ptr: struct sim_xfer, a snapshot chunk reaching the follower */
    SIM_EV_SNAP_REPLY,   /* ptr: struct sim_xfer, the answer (or the leader giving up) */
    SIM_EV_DISCONNECT,   /* node learns that peer aux's connection closed (it crashed) */
    SIM_EV_UNREACHABLE,  /* leader node learns its messages to peer aux were dropped unsent */
    SIM_EV_MEMBER,       /* aux 0: the operator wants a new change; else it tries its wish of
                            that generation again */
    SIM_EV_SNAP_INSTALL, /* ptr: struct sim_xfer, the follower done reading it (node, inc) */
};
#define SIM_EV_BAD 1

/* What the command line fixes for every seed. */
struct sim_options {
    int peers;          /* 3, 5 or 7; 0 rotates them by seed */
    unsigned mutations; /* enum raft_mutation bits */
    bool live_trace;    /* print every step as it happens */
    bool weak;          /* skip the direct durability checks: only end-to-end properties */
    bool pace; /* --pace: the faults also change nodes' timing at runtime (raft_set_timing) */
    const char *mutation_name; /* for the replay line */
};

/* Everything a seed varies, drawn before the run starts. */
struct sim_params {
    int n;
    bool pre_vote, check_quorum;
    raft_time et_min, et_max, hb;
    uint32_t max_inflight, max_entries, max_bytes, max_uncommitted; /* 0: core default */
    uint32_t max_inflight_bytes;                                    /* 0: no bound */
    raft_time fault_ms;                                             /* length of the fault phase */
    raft_time live_ms;    /* after it, the cluster must recover within this */
    raft_time chaos_mean; /* mean gap between fault actions */
    uint32_t w_crash, w_crash_leader, w_partition, w_net_heal, w_disk_fail,
        w_transfer;                  /* action weights */
    raft_time member_mean;           /* mean gap between membership changes; 0: a fixed cluster */
    uint32_t crash_after_change_ppm; /* a leader crashes soon after it appends a change */
    uint32_t split_after_change_ppm; /* the network splits around it as it appends one */
    int voters0;        /* nodes 1..voters0 bootstrap as voters; the others join (empty) */
    raft_time down_max; /* longest downtime */
    raft_time disk_min, disk_max, disk_slow_max;
    uint32_t disk_slow_ppm;
    uint32_t torn_ppm;               /* a crash tears the write in progress */
    uint32_t power_cut_ppm;          /* a crash also cuts the power under the node's storage */
    uint32_t crash_after_vote_ppm;   /* crash soon after granting a vote */
    uint32_t crash_after_ack_ppm;    /* crash soon after acknowledging entries */
    uint32_t crash_after_commit_ppm; /* a leader crashes soon after its commit index moves */
    uint32_t corrupt_ppm;            /* a malformed copy of a message is injected */
    uint32_t tick_late_ppm;          /* a tick is delivered late (scheduling hiccup) */
    uint32_t disconnect_ppm;         /* peers learn at once that a crashed node's socket closed */
    uint32_t silent_drop_ppm;        /* the daemon drops an AppendEntries to a silent follower */
    uint32_t overflow_ppm;           /* ... or to any follower, as from a full queue */
    raft_index snap_every;           /* snapshot after this many applied entries; 0: never */
    raft_time propose_mean, read_mean;
    uint32_t payload_max;
    int live_cmds;
    struct sim_net net; /* the fault-phase network */
};

struct sim;
struct sim_fs;
struct storage;

struct sim_node {
    struct sim *sim;
    int id;
    bool up;
    bool stopped; /* raft_stop() was called: nothing it writes becomes durable */
    bool retired; /* shut down by the operator once its removal committed (sim_members.c) */
    struct raft_configuration boot_conf; /* what its command line says: bootstrap or join */
    raft_index *conf_at; /* indexes of the configuration entries in its log, ascending */
    size_t n_conf_at, conf_at_cap;
    uint32_t inc; /* incarnation; events of older ones are ignored */
    struct raft *r;
    raft_time offset;  /* this incarnation's clock reads virtual time + offset */
    raft_time tick_at; /* time of the live tick event, 0 when none */
    uint64_t ready_seq;
    struct sim_disk disk;
    struct storage *store;   /* the daemon's real storage over the model file system */
    raft_index excused_from; /* after a crash: entries from here were in unfinished writes */
    uint32_t store_deferred; /* pending jobs whose real writes wait for their completion */
    struct sim_log log;      /* the core's in-memory log, as its readies describe it */
    raft_term hs_term;       /* the in-memory hard state, as its readies describe it */
    raft_id hs_vote;
    enum raft_role role; /* as seen after the previous step */
    raft_term term;
    raft_index commit;
    raft_index applied;              /* the volatile state machine: index applied last */
    uint64_t sm_chain;               /* and a hash of its state: the log chain at `applied` */
    bool sending[SIM_MAX_NODES + 1]; /* a snapshot transfer to that node is under way */
    bool installing;                 /* reading a received snapshot (SIM_EV_SNAP_INSTALL pending) */
    int transfer_to;   /* target of its live leadership transfer, as its trace says; 0 none */
    uint64_t *waiting; /* ctx of reads waiting for their index to be applied */
    size_t n_waiting, waiting_cap;
};

/* One proposal as the client made it; its payload starts with its serial. */
struct sim_attempt {
    uint32_t live;    /* post-heal command it serves, or UINT32_MAX */
    raft_index index; /* where it was first applied, 0 before */
};

/* A snapshot on its way from a leader to a follower, chunk by chunk, and the answer. */
struct sim_xfer {
    int leader, to;
    uint32_t leader_inc;
    raft_term term; /* the leader's term when it started */
    raft_index index;
    raft_term snap_term;
    uint64_t chain;
    struct raft_configuration conf; /* the configuration the snapshot carries */
    int chunk, chunks;
    bool ok;              /* the follower's answer */
    raft_term reply_term; /* its term, when it refused a stale leader */
};

enum sim_read_state { SIM_READ_PENDING = 1, SIM_READ_WAIT_APPLY, SIM_READ_DONE, SIM_READ_GONE };

struct sim_read {
    raft_time issued;
    raft_index need; /* highest index known committed anywhere when the read began */
    raft_index index;
    uint32_t inc;
    uint8_t node;
    uint8_t state;
    bool live; /* issued after the heal */
};

struct sim_client {
    int hint; /* node the client believes leads, 0: unknown */
    struct sim_attempt *att;
    size_t n_att, att_cap;
    struct sim_read *reads; /* ctx is index + 1 */
    size_t n_reads, reads_cap;
    raft_time live_tried[SIM_LIVE_CMDS_MAX];
    bool live_ok[SIM_LIVE_CMDS_MAX];
    raft_time live_read_tried;
    bool live_read_ok;
};

/* A membership change the operator made and has not yet seen committed or lost. */
struct sim_member_op {
    bool live;
    enum raft_change op;
    raft_index index;
    raft_term term;
    uint64_t dhash; /* sim_entry_hash of its configuration entry */
};

struct sim_stats {
    uint64_t member_changes, retired;
    uint64_t steps, delivered, dropped, crashes, disk_fails, elections, proposals, applied_cmds,
        reads_served, reads_failed, partitions, writes, snapshots, installs, power_cuts;
    uint64_t install_refusals; /* raft_snapshot_check refused a snapshot read to the end */
    uint64_t installs_lost;    /* the follower crashed while it read the snapshot */
};

enum sim_phase { SIM_FAULTS = 0, SIM_HEALED = 1 };

struct sim {
    uint64_t seed;
    struct sim_options opt;
    struct sim_params p;
    struct sim_rng rng;       /* drives everything that happens */
    struct sim_rng check_rng; /* spot checks only: checking never changes the run */
    struct sim_queue q;
    struct sim_net net; /* the network as it is now */
    struct sim_trace trace;
    struct sim_inv inv;
    struct sim_node nodes[SIM_MAX_NODES + 1]; /* [1..n] */
    struct sim_client client;
    struct sim_member_op member_op[SIM_MAX_NODES + 1]; /* by the node it concerns */
    struct {
        bool active;
        enum raft_change op;
        int id;
        uint64_t gen;    /* retry events of older wishes are stale */
        int last_leader; /* the leader it saw last */
    } member_wish;       /* the change the operator keeps asking for, as a user_cli would */
    struct sim_fs *fs;   /* every node's real storage lives here (sim_store.h) */
    struct sim_stats st;
    uint64_t *scratch; /* entry hashes of one ready */
    size_t scratch_cap;
    raft_time now;
    enum sim_phase phase;
    raft_time heal_at;
    bool done;
    bool failed;
    char what[48];    /* the property that failed */
    char detail[600]; /* how */
};

/* sim_run.c: the run itself. */
struct sim *sim_new(uint64_t seed, const struct sim_options *opt);
/* Runs to the end; 0 when every check passed, -1 when one failed. */
int sim_run(struct sim *s);
/* Prints the outcome: one line when passed; details, node states and the trace otherwise. */
void sim_report(const struct sim *s, FILE *out, bool verbose);
void sim_free(struct sim *s);
/* Records the first failure (later ones are consequences and are ignored). */
void sim_fail(struct sim *s, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void sim_record(struct sim *s, struct sim_rec *r);
void sim_schedule(struct sim *s, raft_time at, int type, int node, uint32_t inc, void *ptr,
                  uint64_t aux, uint8_t flags);

/* sim_cluster.c: nodes, their readies, and the per-step checks. */
void sim_node_boot(struct sim *s, struct sim_node *n);
void sim_node_crash(struct sim *s, struct sim_node *n);
void sim_node_disk_fail(struct sim *s, struct sim_node *n);
/* Takes and carries out every ready, checks the node, schedules its next tick. */
void sim_node_settle(struct sim *s, struct sim_node *n);
void sim_node_free(struct sim_node *n);
void sim_on_tick(struct sim *s, const struct sim_event *ev);
void sim_on_deliver(struct sim *s, struct sim_event *ev);
void sim_on_disk(struct sim *s, const struct sim_event *ev);
raft_time sim_node_now(const struct sim *s, const struct sim_node *n);
/* At the end: every node holds the whole committed log. */
void sim_check_final(struct sim *s);

/* sim_client.c: commands, reads, and the liveness goal. */
void sim_client_start(struct sim *s);
void sim_on_propose(struct sim *s);
void sim_on_read(struct sim *s);
void sim_on_live(struct sim *s);
void sim_on_deadline(struct sim *s);
void sim_client_applied(struct sim *s, struct sim_node *n, raft_index index,
                        const struct raft_entry *e);
void sim_client_read_index(struct sim *s, struct sim_node *n, uint64_t ctx, raft_index index);
void sim_client_read_failed(struct sim *s, struct sim_node *n, uint64_t ctx);
/* Serves reads whose index the node has applied. */
void sim_client_serve(struct sim *s, struct sim_node *n);
void sim_client_node_down(struct sim *s, struct sim_node *n);
void sim_client_free(struct sim *s);

/* sim_snapshot.c: log compaction and snapshot transfers. */
/* After a ready: take a snapshot and compact when enough was applied (like the daemon). */
void sim_snapshot_maybe_take(struct sim *s, struct sim_node *n);
/* The leader's ready asks for snapshots to be sent. */
void sim_snapshot_requests(struct sim *s, struct sim_node *n, const struct raft_ready *rd);
void sim_on_snap_chunk(struct sim *s, struct sim_event *ev);
void sim_on_snap_reply(struct sim *s, struct sim_event *ev);
void sim_on_snap_install(struct sim *s, struct sim_event *ev);
void sim_on_disconnect(struct sim *s, const struct sim_event *ev);
void sim_on_unreachable(struct sim *s, const struct sim_event *ev);

/* sim_faults.c: the seed's parameters and the fault schedule. */
void sim_params_choose(struct sim *s);
void sim_faults_start(struct sim *s);
void sim_on_chaos(struct sim *s);
void sim_on_heal(struct sim *s);
void sim_on_crash(struct sim *s, const struct sim_event *ev);
void sim_on_restart(struct sim *s, const struct sim_event *ev);
/* Soon after a node grants a vote or acknowledges entries, maybe crash it. */
void sim_maybe_crash_after(struct sim *s, struct sim_node *n, uint32_t ppm);
raft_time sim_disk_latency(struct sim *s);
/* The leader of the highest term, if any node that is up leads. */
struct sim_node *sim_leader(struct sim *s);

/* sim_members.c: the operator's membership changes (docs/MEMBERSHIP.md). */
void sim_members_init(struct sim *s);
void sim_members_start(struct sim *s);
void sim_on_member(struct sim *s, const struct sim_event *ev);
/* Node id became leader: the operator asks it at once. */
void sim_members_new_leader(struct sim *s, int id);
/* Notices changes that committed (retiring removed nodes) or were lost. */
void sim_members_poll(struct sim *s);
/* The node's log as its readies describe it lost everything after keep / gained e at
 * index; the direct checks of the membership rules. */
void sim_members_log_truncated(struct sim_node *n, raft_index keep);
void sim_members_log_appended(struct sim *s, struct sim_node *n, raft_index index,
                              const struct raft_entry *e);
void sim_members_booted(struct sim_node *n);
/* (direct) The node uses the latest configuration in its log (§4.1). */
void sim_members_check(struct sim *s, struct sim_node *n);
/* Must hold the whole committed log at the end: members of the configuration in use. */
bool sim_members_final(struct sim *s, const struct sim_node *n);

#endif
