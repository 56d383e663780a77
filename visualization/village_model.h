/* village_model.h: what the game knows of the cluster, built only from the peers' UDP
 * stream (docs/GAME_STREAM.md). No SDL here, and time is always passed in, so tests can
 * drive it datagram by datagram. */
#ifndef VILLAGE_MODEL_H
#define VILLAGE_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

#define VILLAGE_MAX_PEERS     9    /* one ring of villagers; more would not fit the screen */
#define VILLAGE_NAME_MAX      33   /* peer names are at most 32 bytes (common/config.h) */
#define VILLAGE_VAR_NAME_MAX  65   /* variable names are at most 64 bytes (CONTRACT.md) */
#define VILLAGE_MAX_VARS      16   /* the stream sends at most 16 variables */
#define VILLAGE_LOG_TAIL      32   /* terms of the last entries sent in each state */
#define VILLAGE_MAX_FLIGHTS   256  /* messages drawn in the air at once; older ones drop */
#define VILLAGE_FEED_LINES    64   /* lines of the event feed kept */
#define VILLAGE_FEED_TEXT_MAX 160  /* bytes of one feed line, longer text is cut */
#define VILLAGE_DATAGRAM_MAX  8192 /* a state is ~2 KiB; anything bigger is refused */

/* A peer that sent nothing for this long is drawn as a grave. */
#define VILLAGE_STALE_MS 1500
/* After the game kills a peer, datagrams already on their way are not taken as a sign
 * of life for this long. */
#define VILLAGE_KILL_GRACE_MS 800
/* How long a message takes to fly between villagers on screen, at the least: a message
 * held by a delay (the msg's delay_ms) flies for that delay when it is longer, so a
 * slowed wire is seen to be slow. */
#define VILLAGE_FLIGHT_MS 550
/* The lesson pace a peer reports is at most this (docs/CONTRACT.md, "Lesson pace"). */
#define VILLAGE_PACE_MAX 50
/* Routine traffic (empty heartbeats and their successful answers) is shown at most
 * this often per sender, receiver and kind: a real leader sends twenty heartbeats a
 * second to each follower, which on screen would be a blur. */
#define VILLAGE_ROUTINE_GAP_MS 400
/* AppendEntries carrying entries are news, but a leader retrying a dead follower sends
 * them back to back; one per this gap per pair is drawn. */
#define VILLAGE_ENTRIES_GAP_MS 150
/* Network faults (docs/GAME_STREAM.md): the feed tells of a change in the cut roads once
 * the peers' reports have agreed for this long (a request reaches each peer in turn). */
#define VILLAGE_ROADS_SETTLE_MS 300
/* Log entries a peer lost (replaced or cut off its log) are shown falling this long. */
#define VILLAGE_GHOST_MS       3000
#define VILLAGE_FAULT_TEXT_MAX 128 /* bytes of a peer's "fault" words kept */
/* Membership (docs/MEMBERSHIP.md): an apprentice walks in from the village's edge, a
 * promoted one walks to its place in the ring, and a removed one walks away and is
 * drawn no more, each over this long. */
#define VILLAGE_WALK_MS  800
#define VILLAGE_LEAVE_MS 3000

enum village_role {
    VILLAGE_ROLE_UNKNOWN = 0,
    VILLAGE_FOLLOWER,
    VILLAGE_PRE_CANDIDATE,
    VILLAGE_CANDIDATE,
    VILLAGE_LEADER,
};

/* Where a villager is in its life, as far as the stream tells. */
enum village_life {
    VILLAGE_ABSENT = 0, /* never heard from: an empty plot */
    VILLAGE_ALIVE,
    VILLAGE_GRAVE, /* silent for VILLAGE_STALE_MS, or killed by the game */
};

/* Where a villager stands in the configuration, as the village sees it: the living
 * leader's configuration (docs/MEMBERSHIP.md), else the last one a leader sent. */
enum village_member {
    VILLAGE_MEMBER_UNKNOWN = 0, /* no peer has named a configuration: drawn as ever */
    VILLAGE_MEMBER_VOTER,
    VILLAGE_MEMBER_LEARNER, /* an apprentice: receives the log, votes not */
    VILLAGE_MEMBER_NONE,    /* in no configuration: a newcomer waiting, or removed */
};

enum village_rpc {
    VILLAGE_RPC_APPEND_ENTRIES = 0,
    VILLAGE_RPC_APPEND_ENTRIES_RESULT,
    VILLAGE_RPC_REQUEST_VOTE,
    VILLAGE_RPC_REQUEST_VOTE_RESULT,
    VILLAGE_RPC_TIMEOUT_NOW,
};

struct village_var {
    char name[VILLAGE_VAR_NAME_MAX];
    int64_t value;
};

/* The leader's view of one follower. */
struct village_follower {
    char peer[VILLAGE_NAME_MAX];
    uint64_t next_index;
    uint64_t match_index;
};

struct village_peer {
    char name[VILLAGE_NAME_MAX]; /* "" while the slot is unused */
    int id;                      /* 1..VILLAGE_MAX_PEERS: the slot is id - 1 */
    long pid;                    /* of the process last heard, 0 if unknown */

    enum village_life life;
    uint64_t last_heard_ms; /* when the last state arrived */
    uint64_t life_since_ms; /* when life last changed (grave or rise animations) */
    uint64_t kill_grace_until_ms;
    bool reviving;            /* the game started it again and waits for its first state */
    uint64_t revive_asked_ms; /* when the game asked */

    /* Straight from the latest state datagram. */
    enum village_role role;
    uint64_t role_since_ms;
    uint64_t term;
    char voted_for[VILLAGE_NAME_MAX]; /* "" for nobody */
    char leader[VILLAGE_NAME_MAX];    /* "" when not known */
    uint64_t first_index, last_index, commit_index, last_applied, persisted_index;
    unsigned election_progress; /* 0..1000 */
    uint64_t log_tail_start;    /* index of log_tail_terms[0] */
    uint64_t log_tail_terms[VILLAGE_LOG_TAIL];
    int n_log_tail;
    struct village_var vars[VILLAGE_MAX_VARS];
    int n_vars;       /* in vars[] */
    int n_vars_total; /* in the peer's state machine; may exceed n_vars */
    struct village_follower followers[VILLAGE_MAX_PEERS - 1];
    int n_followers;
    bool stopped; /* disk failure: the peer no longer acknowledges anything */

    /* Network faults, as the peer itself reports them: bit j of cut_to is set when it
     * sends nothing to slot j ("cut" or "cut_to"), of cut_from when it ignores slot j
     * ("cut" or "cut_from"). Names of peers not shown are ignored. */
    uint16_t cut_to, cut_from;
    char fault[VILLAGE_FAULT_TEXT_MAX]; /* "" when nothing is cut */
    uint32_t delay_ms;
    uint64_t held, dropped_out, dropped_in;
    /* The lesson pace: timeouts and heartbeat are pace times the ini's (1 when the peer
     * says nothing), and whether a dead leader's followers hurry an election. */
    unsigned pace;
    bool fast_failover;

    /* Entries this peer lost from its log (replaced after a heal, or cut off), shown
     * falling for VILLAGE_GHOST_MS from ghosts_since_ms. */
    uint64_t ghost_index[VILLAGE_LOG_TAIL], ghost_term[VILLAGE_LOG_TAIL];
    int n_ghosts;
    uint64_t ghosts_since_ms;

    bool stale_leader; /* leads, but reaches no majority (see village_model_leader_stale) */

    /* The configuration this peer uses, from its own state (bits by slot; names the
     * village does not show are skipped): empty on a --join peer not added yet. */
    uint16_t conf_voters, conf_learners;
    bool conf_pending;
    uint64_t conf_index; /* its entry's index, 0 when unknown or from a snapshot */

    /* Its place in the village's configuration, and since when (walk animations). */
    enum village_member member;
    uint64_t member_since_ms;
    /* Removed from a committed configuration: it walks away (VILLAGE_LEAVE_MS from
     * left_ms) and is then drawn no more, until it is a member again or a new process
     * of it is heard (left_pid is the one that left). */
    bool left;
    uint64_t left_ms;
    long left_pid;
    bool told_waiting; /* the feed said it waits to be added */
};

/* One message in the air. */
struct village_flight {
    int from, to; /* slots */
    enum village_rpc rpc;
    uint64_t term;
    uint32_t n_entries;
    bool ok; /* success / vote_granted for results */
    bool pre_vote;
    uint64_t start_ms;
    uint32_t flight_ms; /* how long it is drawn in the air: VILLAGE_FLIGHT_MS or its delay */
};

struct village_feed_line {
    uint64_t time_ms;
    int slot; /* the peer the line is about, -1 for the game itself */
    uint64_t term;
    char text[VILLAGE_FEED_TEXT_MAX];
};

struct village_model {
    struct village_peer peers[VILLAGE_MAX_PEERS];
    int n;           /* villagers shown: slots 0..n-1 */
    bool n_fixed;    /* -n was given: datagrams do not change n */
    int n_from_file; /* peers in the ini, capped at VILLAGE_MAX_PEERS */
    int n_heard;     /* the largest "n" heard in a state, 0 if none */

    struct village_flight flights[VILLAGE_MAX_FLIGHTS]; /* ring buffer */
    int flight_head, n_flights;

    struct village_feed_line feed[VILLAGE_FEED_LINES]; /* ring buffer, oldest first */
    int feed_head, n_feed;
    uint64_t feed_total; /* lines ever added, so the view can tell something is new */

    uint64_t shown_ms[VILLAGE_MAX_PEERS][VILLAGE_MAX_PEERS][3]; /* [from][to][kind] */
    uint64_t n_thinned; /* messages accepted but not drawn, see above */

    /* Cut roads as last told in the feed, and as now: bit b of [a] is set when a -> b is
     * cut. */
    uint16_t roads_told[VILLAGE_MAX_PEERS], roads_now[VILLAGE_MAX_PEERS];
    uint64_t roads_changed_ms;

    /* The configuration the village shows (bits by slot): the living leader's, kept
     * when no leader is known. membership_seen once any peer named one. */
    bool membership_seen;
    uint16_t voters, learners;
    bool conf_pending;
    uint64_t conf_index;
    uint64_t conf_term; /* of the leader it came from */

    uint64_t n_datagrams; /* accepted */
    uint64_t n_rejected;  /* ignored as malformed */
    char last_reject[128];
};

void village_model_init(struct village_model *m);

/* Names a slot from the ini (id is the peer's position in the file, 1-based). Peers past
 * VILLAGE_MAX_PEERS are not shown. Returns 0, or -1 on a bad id or name. */
int village_model_add_peer(struct village_model *m, int id, const char *name);

/* Fixes the number of villagers (-n), or 0 to follow the file and the stream. */
void village_model_set_n(struct village_model *m, int n);

/* Takes one datagram. Returns 0 if it was used, -1 if it was ignored as malformed (the
 * reason goes to err); the model is never left half-updated. */
int village_model_feed(struct village_model *m, const char *data, size_t len, uint64_t now_ms,
                       char *err, size_t errlen);

/* Advances time: silent peers become graves, landed messages leave the air. */
void village_model_tick(struct village_model *m, uint64_t now_ms);

/* The game killed slot (click or monster): a grave at once. */
void village_model_mark_killed(struct village_model *m, int slot, uint64_t now_ms);
/* The game started slot's process again: it rises when its first state arrives. */
void village_model_mark_reviving(struct village_model *m, int slot, uint64_t now_ms);

/* Slot of the peer called name among the shown ones, or -1. */
int village_model_find(const struct village_model *m, const char *name);
/* Slot of the living leader with the highest term, or -1. */
int village_model_leader(const struct village_model *m);
/* Living villagers among the shown ones. */
int village_model_alive_count(const struct village_model *m);
/* Whether slot is a member of the village's configuration (a voter or a learner; with
 * voters_only a voter), which every slot is until a peer names a configuration. A
 * removed peer or a newcomer not yet added is no member. */
bool village_model_is_member(const struct village_model *m, int slot, bool voters_only);
/* How many slots are members so; *alive (when not NULL) gets how many of them are alive. */
int village_model_members(const struct village_model *m, bool voters_only, int *alive);

/* True when messages from slot a to slot b are dropped, as either end reports it (a's
 * cut_to, or b's cut_from); only living villagers' reports count. */
bool village_model_cut(const struct village_model *m, int a, int b);
/* The road between a and b: 0 open, 1 cut a -> b only, 2 cut b -> a only, 3 both ways. */
int village_model_road(const struct village_model *m, int a, int b);
/* Roads with any direction cut, among the shown villagers. */
int village_model_cut_roads(const struct village_model *m);
/* A leader (alive, role leader) that cannot reach a majority of the n villagers: the
 * living ones it has an open road to both ways, itself included, are too few. It keeps
 * its crown until its quorum check fails, but commits nothing. */
bool village_model_leader_stale(const struct village_model *m, int slot);
/* The roads in words, at most cap bytes: "healed: every road is open", "peer1 is cut off
 * from peer2 and peer3", "the village is split: {peer1, peer2} | {peer3}", "roads cut:
 * peer1-peer2, peer3 -> peer1". */
void village_model_describe_roads(const struct village_model *m, char *out, size_t cap);

/* Adds a line to the feed (slot -1 for the game's own news). */
void village_model_feed_add(struct village_model *m, int slot, uint64_t term, uint64_t now_ms,
                            const char *text);

/* Feed line i, 0 being the oldest kept, or NULL. */
const struct village_feed_line *village_model_feed_line(const struct village_model *m, int i);
/* Flight i, 0 being the oldest in the air, or NULL. */
const struct village_flight *village_model_flight(const struct village_model *m, int i);

/* The model as a new json-c object, for --dump-state and tests (the caller may add
 * fields, then puts it). NULL when out of memory. */
struct json_object *village_model_to_json(const struct village_model *m, uint64_t now_ms);

/* Whether slot is drawn at all: a member, or a peer heard from that is not a member
 * (an apprentice waiting), or one walking away (leaving true). Without membership news
 * every slot below n is, as before: a plot with a signpost until heard from. */
bool village_model_shown(const struct village_model *m, int slot, uint64_t now_ms, bool *leaving);
/* Whether slot stands in the ring (a voter, or any villager when membership is unknown)
 * rather than apart as an apprentice (a learner, or heard from but in no configuration). */
bool village_model_in_ring(const struct village_model *m, int slot, uint64_t now_ms);
/* The next peer of the ini that is in no configuration and not running, to add: its slot
 * or -1. */
int village_model_next_to_add(const struct village_model *m);

const char *village_role_name(enum village_role role);
const char *village_member_name(enum village_member member);
const char *village_life_name(enum village_life life);
const char *village_rpc_name(enum village_rpc rpc);

#endif /* VILLAGE_MODEL_H */
