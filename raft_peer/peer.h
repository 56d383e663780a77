/* peer.h: one Raft peer process: the core, its storage, state machine, sockets and logs, glued. */
#ifndef RAFT_PEER_PEER_H
#define RAFT_PEER_PEER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/buffer.h"
#include "common/config.h"
#include "raft_peer/core/raft.h"
#include "common/event_log.h"
#include "raft_peer/net/net_delay.h"
#include "raft_peer/net/net_faults.h"

struct event_loop;
struct storage;
struct state_machine;
struct json_object;
struct snapshots;

/* Bounds that keep a slow or hostile party from growing our memory. */
/* Bytes queued to one peer before we drop messages: a follower that answers needs at
 * most max_inflight batches of 256 KiB (base64 and JSON around them) plus heartbeats,
 * while one silent for an election timeout gets a probe or a snapshot chunk at most
 * (peer_links.c). */
#define PEER_LINK_QUEUE_MAX        (32u << 20)
#define PEER_LINK_SILENT_MAX       (64u << 10)
#define CONN_OUT_MAX               (64u << 20) /* bytes queued to one client before we hang up */
#define PEER_MAX_PENDING_PROPOSALS 65536       /* client commands awaiting commit */
#define PEER_MAX_PENDING_READS     65536
#define PEER_MAX_CONNS             1024 /* accepted connections at once; past it the idlest goes */
/* A line must arrive whole within this long of its first byte (a client's lines are at
 * most 64 KiB; a peer's up to RPC_LINE_MAX, so it gets longer): a connection holding half
 * a line is closed, so a hostile client cannot keep slots by writing slowly. */
#define CONN_CLIENT_LINE_MS 5000
#define CONN_PEER_LINE_MS   60000

/* Our outbound connection to another peer; every message we send it goes here. */
struct peer_link {
    int fd;
    bool connecting;
    bool connected;
    bool down_reported; /* "unreachable" was logged; log "reachable again" next time */
    bool ever_connected;
    bool lost_unreported;   /* the connection dropped; the core has not been told yet */
    bool at_frame_start;    /* out starts with a whole message: nothing of it written yet */
    bool silent;            /* leader: the core says it has not answered for an election timeout */
    bool drops_unreported;  /* messages for it were dropped unsent; the core not told yet */
    uint64_t dropped_bytes; /* queued bytes given up since start, for status */
    uint64_t next_attempt_ms;
    uint64_t backoff_ms;
    struct buffer out;
};

/* An accepted connection: a client, a peer sending us RPCs, or the game. Closing one
 * only marks it (closed) and unhooks its fd; the memory is freed by conns_reap() before
 * the loop sleeps, when no handler can still hold it (as redis's CLIENT_CLOSE_ASAP). So a
 * handler may keep using c after any send: it tests c->closed, never re-looks it up. */
struct conn {
    int fd;
    uint64_t id; /* unique for the process lifetime: pending requests name it */
    bool loopback;
    bool closing;              /* close once out is flushed */
    bool closed;               /* fd closed; freed at the next conns_reap() */
    raft_id peer;              /* the peer that said hello on it (with the token, if one is set) */
    uint64_t last_line_ms;     /* accept, then each whole line: the idlest is evicted first */
    uint64_t partial_since_ms; /* first byte of the unfinished line in `in`; 0 when none */
    char addr[96];
    struct buffer in;
    struct buffer out;
    struct conn *next_closed;
};

/* Every accepted connection, owned by connections.c. */
struct conn_table {
    int listen_fd;
    bool accept_paused; /* out of fds and nobody to evict: listening resumes on a timer */
    struct conn **by_fd;
    int cap;
    int n;
    uint64_t next_id;
    struct conn *closed; /* closed, not yet freed */
    int64_t sweep_timer;
    uint64_t evicted, line_timeouts; /* since the last log line about them */
    uint64_t last_report_ms;
};

struct pending_proposal {
    raft_index index;
    raft_term term;
    int fd;
    uint64_t conn_id;
};

struct pending_read {
    uint64_t ctx;
    raft_index index; /* known once the core confirmed the read; 0 before */
    int fd;
    uint64_t conn_id;
    char name[65];
};

/* Leader: the membership change a client asked for, followed until it commits. */
struct membership_change {
    bool active;
    int fd;
    uint64_t conn_id;
    raft_id id;
    enum raft_change op;
    bool to_voter;    /* add: promote once caught up */
    raft_index index; /* its entry; 0 while an added learner catches up */
    raft_term term;
    uint64_t started_ms;
};

struct peer {
    struct config cfg;
    /* The address book: every peer of the file, ids 1..n in file order. Who votes is the
     * configuration's business (docs/MEMBERSHIP.md), not the file's. */
    int n;
    int boot_n; /* N of the command line; 0 for raft_peer NAME --join */
    struct raft_configuration boot_configuration; /* data/<peer>/bootstrap */
    bool was_member; /* we have been in our own configuration: leaving it means removal */
    /* The highest leader_commit of the append_entries received: while our log ends before
     * it, we are catching up, and a removal we read may be an old one that later entries
     * undo. */
    raft_index leader_commit_heard;
    struct membership_change change;
    uint64_t started_ms;
    raft_id self; /* 1..n */
    const char *names[CONFIG_MAX_PEERS];
    bool visual; /* -v: stream to the game and obey its control messages */

    struct event_loop *el;
    struct event_log *log;
    struct storage *storage;
    struct state_machine *sm;
    struct raft *raft;
    bool stopped; /* storage failed: never acknowledge again */
    bool exiting;
    bool stop_after_ready; /* apply failed: raft_stop() once the ready is done */

    struct peer_link links[CONFIG_MAX_PEERS + 1];
    struct conn_table conns;

    /* Client commands in index order, and reads in arrival order. */
    struct pending_proposal *proposals;
    size_t n_proposals, cap_proposals, first_proposal;
    struct pending_read *reads;
    size_t n_reads, cap_reads;
    uint64_t next_read_ctx;

    char data_dir[CONFIG_PATH_MAX + 80]; /* data/<peer> */
    struct snapshots *snapshots;         /* snapshot_service.c */

    /* Network faults a classroom sets through control messages (-v only). */
    struct net_faults faults;
    struct net_delay delay;
    unsigned pace;      /* lesson pace: the INI's timing times this (pace_control.c) */
    bool fast_failover; /* a lost leader's closed connection hurries an election */

    int64_t tick_timer;
    raft_time tick_due;
    int votes_granted; /* in the current election, for the log line that ends it */
    enum raft_role last_role;

    /* Game stream (-v). */
    int game_fd;
    uint64_t last_state_ms;
    uint64_t state_digest;
    uint64_t msg_window_ms;
    unsigned msg_in_window;

    struct raft_entry *entry_space; /* RPC_MAX_ENTRIES, where decoded RPCs put their entries */
    char err[512];                  /* scratch for helpers' messages */
};

/* Loads everything and opens the port. On failure returns -1 with a one-line
 * message in err (the caller prints it and exits non-zero). */
int peer_start(struct peer *p, const struct config *cfg, int n, int self_index, bool visual,
               const char *log_level, char *err, size_t errlen);
/* force_config.c: raft_peer NAME --force-config LIST, before peer_start: appends a
 * configuration entry with LIST as the voters to this peer's log, durably. UNSAFE. */
int peer_force_configuration(struct peer *p, const struct config *cfg, int self_index,
                             const char *list, char *err, size_t errlen);

/* Runs the event loop until peer_request_exit. */
int peer_run(struct peer *p);
void peer_request_exit(struct peer *p);
void peer_free(struct peer *p);

/* peer.c: after any input, carry out everything the core asks. */
void peer_process_ready(struct peer *p);

/* peer_links.c: outbound connections to the other peers. */
void links_init(struct peer *p);
void links_send(struct peer *p, const struct raft_message *m);
void links_maintain(struct peer *p);
void links_free(struct peer *p);
/* Tells the core about links lost since the last call. Only between readies: any core
 * call frees the ready being worked through (raft.h). */
void links_report_lost(struct peer *p);

void links_send_line(struct peer *p, raft_id to, const char *line, size_t len);
/* Writes an encoded message now, past the delay (a held line whose time has come);
 * a cut still drops it. */
void links_send_now(struct peer *p, raft_id to, const char *line, size_t len);

/* fault_control.c: partition, isolate, cut, heal and delay (-v only). */
void faults_init(struct peer *p);
void faults_free(struct peer *p);
void faults_handle_control(struct peer *p, struct conn *c, struct json_object *obj,
                           const char *action);
/* Holds an encoded peer message for the delay, or drops it with one log line past the
 * bounds. */
void faults_hold(struct peer *p, raft_id to, const char *line, size_t len);
/* Adds cut, cut_to, cut_from, fault, delay_ms, held, dropped_out, dropped_in to o. */
void faults_add_json(const struct peer *p, struct json_object *o);

/* A control message's answer: ok (with add_state's fields of what changed) or
 * bad_request, the message, and this peer's name (fault_control.c, pace_control.c). */
void control_respond(struct peer *p, struct conn *c, bool ok, const char *message,
                     void (*add_state)(const struct peer *p, struct json_object *o));

/* pace_control.c: the lesson pace (-v only). */
#define PACE_MAX_FACTOR 50 /* 300 ms timeouts become 15 s: slow enough for any lesson */
void pace_init(struct peer *p);
void pace_handle_control(struct peer *p, struct conn *c, struct json_object *obj);
/* Adds pace and fast_failover to o (status, the game stream's state). */
void pace_add_json(const struct peer *p, struct json_object *o);

/* connections.c: inbound connections. */
void conns_init(struct peer *p);
int conns_listen(struct peer *p, char *err, size_t errlen);
/* Queues and writes; -1 when c is closed (now or before). c stays readable either way
 * until the next conns_reap(). */
int conn_send(struct peer *p, struct conn *c, const char *data, size_t len);
/* One JSON object and its newline, then puts o. Same return as conn_send. */
int conn_send_json(struct peer *p, struct conn *c, struct json_object *o);
/* The open connection on fd, if it is still the one with this id. */
struct conn *conn_lookup(struct peer *p, int fd, uint64_t id);
/* Frees the connections closed since the last call. Only where no handler runs. */
void conns_reap(struct peer *p);
void conns_free(struct peer *p);

/* client_service.c: client requests, their answers, status and control. */
void client_handle_request(struct peer *p, struct conn *c, struct json_object *obj);
void client_handle_transfer(struct peer *p, struct conn *c, struct json_object *obj, bool control);
void client_send_error(struct peer *p, struct conn *c, const char *code, const char *message);
void client_send_not_leader(struct peer *p, struct conn *c);
struct sm_result;
/* Entry index was applied with result res (peer.c applies): answers whoever waits on it. */
void client_on_applied(struct peer *p, raft_index index, const struct raft_entry *e,
                       const struct sm_result *res);
void client_on_reads(struct peer *p, const struct raft_ready *rd);
void client_fail_all(struct peer *p, const char *why);
void client_free(struct peer *p);
void status_send(struct peer *p, struct conn *c);
struct json_object *status_followers_json(const struct peer *p, const char *name_key);
/* The peers of mask (bit i: peer id i), by name, as a JSON array; ids are positions in
 * the ini file. */
struct json_object *peer_names_json(const struct peer *p, uint32_t mask);
/* Voters and learners of the configuration in use (N of the command line while it has
 * none): the "n" of status and of the game stream. */
int peer_cluster_size(const struct peer *p);

/* membership_service.c: add, promote and remove requests; removal of ourselves. */
void membership_handle_request(struct peer *p, struct conn *c, struct json_object *obj);
void membership_progress(struct peer *p);
void membership_check_removed(struct peer *p);

/* trace_log.c: the core's trace callback, turned into log lines. */
void trace_to_log(void *ctx, const struct raft_trace *t);

/* game_stream.c: UDP datagrams for raft_game. */
void game_open(struct peer *p);
void game_send_state(struct peer *p, bool force);
void game_send_msg(struct peer *p, const struct raft_message *m);
void game_send_event(void *ctx, enum event_log_level level, const char *line, size_t len);
void game_close(struct peer *p);

#endif
