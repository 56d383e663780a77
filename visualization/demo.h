/* demo.h: a make-believe cluster inside the game (--demo), slowed to human speed, that
 * speaks the real stream format. It lets the village be tried and measured without
 * real peers; it is a toy, not a Raft implementation to trust. */
#ifndef GAME_DEMO_H
#define GAME_DEMO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "visualization/village_model.h"

#define DEMO_LOG_MAX  512 /* entries kept per peer; the demo stops appending beyond */
#define DEMO_MAX_MSGS 512 /* messages on the wire at once */
#define DEMO_N_VARS   4

/* Receives each datagram the demo "sends". */
typedef void (*demo_emit_fn)(void *ctx, const char *json, size_t len);

struct demo_entry {
    uint64_t term;
    int var; /* index into the demo's variable names, -1 for a leader's no-op */
    int64_t delta;
};

struct demo_peer {
    bool alive;
    long pid;
    enum village_role role;
    uint64_t term;
    int voted_for; /* slot, -1 for nobody */
    int leader;    /* slot, -1 for unknown */
    struct demo_entry log[DEMO_LOG_MAX];
    uint64_t n_log; /* last index; entry i is log[i - 1] */
    uint64_t commit, applied;
    int64_t vars[DEMO_N_VARS];
    bool var_set[DEMO_N_VARS];
    uint64_t election_start_ms, election_deadline_ms;
    int votes;
    uint64_t next_heartbeat_ms;
    uint64_t next_index[VILLAGE_MAX_PEERS], match_index[VILLAGE_MAX_PEERS];
};

enum demo_msg_type {
    DEMO_AE = VILLAGE_RPC_APPEND_ENTRIES,
    DEMO_AE_RESULT = VILLAGE_RPC_APPEND_ENTRIES_RESULT,
    DEMO_RV = VILLAGE_RPC_REQUEST_VOTE,
    DEMO_RV_RESULT = VILLAGE_RPC_REQUEST_VOTE_RESULT,
    DEMO_TIMEOUT_NOW = VILLAGE_RPC_TIMEOUT_NOW,
};

struct demo_msg {
    uint64_t deliver_ms;
    int from, to;
    enum demo_msg_type type;
    uint64_t term;
    uint64_t prev_index, prev_term, commit; /* AE */
    uint32_t n_entries;                     /* AE: entries prev_index+1.. of the sender */
    struct demo_entry entries[8];
    bool ok;                        /* results */
    uint64_t match_index;           /* AE result */
    uint64_t last_index, last_term; /* RV */
};

struct demo {
    int n;
    struct demo_peer peers[VILLAGE_MAX_PEERS];
    struct demo_msg msgs[DEMO_MAX_MSGS];
    int n_msgs;
    uint32_t rng;
    uint64_t next_state_ms;
    uint64_t next_command_ms;
    demo_emit_fn emit;
    void *emit_ctx;
};

/* n peers named peer1..peerN, all alive and followers at term 0. */
void demo_init(struct demo *d, int n, uint32_t seed, uint64_t now_ms, demo_emit_fn emit, void *ctx);
/* Runs the cluster up to now_ms, emitting states, messages and events. */
void demo_step(struct demo *d, uint64_t now_ms);
/* The game's hands, as on a real cluster. */
void demo_crash(struct demo *d, int slot, uint64_t now_ms);
void demo_revive(struct demo *d, int slot, uint64_t now_ms);
int demo_transfer(struct demo *d, int target, uint64_t now_ms);
/* Appends "var add delta" at the leader. 0, or -1 when there is no leader. */
int demo_submit(struct demo *d, uint64_t now_ms, char *result, size_t len);

#endif /* GAME_DEMO_H */
