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

/* Bounds that keep a slow or hostile party from growing our memory. */
/* Bytes queued to one peer before we drop messages: a follower that answers needs at
 * most max_inflight batches of 256 KiB (base64 and JSON around them) plus heartbeats,
 * while one silent for an election timeout gets a probe or a snapshot chunk at most
 * (peer_links.c). */
#define PEER_LINK_QUEUE_MAX  (32u << 20)
#define PEER_LINK_SILENT_MAX (64u << 10)
#define CONN_OUT_MAX         (64u << 20) /* bytes queued to one client before we hang up */
#define PEER_MAX_CONNS       1024        /* accepted connections at once; past it the idlest goes */
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

/* Leader: one snapshot transfer in progress to a follower (chunked, one chunk in flight). */
struct snapshot_send {
    bool active;
    raft_index index;
    raft_term term;
    uint64_t size;
    uint32_t crc;
    uint8_t *data;    /* the snapshot as it was when the transfer began: a newer one may
                         replace the file meanwhile without restarting the transfer */
    uint64_t offset;  /* the next byte the follower needs */
    uint64_t sent_ms; /* when the chunk now in flight left */
};

/* What a snapshot child writes on its pipe before it exits (snapshot_service.c). */
struct snapshot_report {
    int32_t ok;          /* 1: the snapshot is durable in data/<peer>/snapshot.fork/snapshot */
    uint32_t crc;        /* crc32c of the data, as snapshot_save wrote it in the header */
    uint64_t size;       /* bytes of data */
    uint64_t encode_ms;  /* sm_snapshot_encode */
    uint64_t write_ms;   /* snapshot_save: write, fdatasync, rename, directory fsync */
    uint64_t private_kb; /* the child's Private_Dirty at the end: its own buffers plus the
                            pages either side wrote since the fork (copy-on-write) */
    char err[232];       /* why not, when !ok */
};

/* The snapshot being taken by a forked child, at most one at a time. */
struct snapshot_child {
    pid_t pid;        /* 0 when there is none */
    int fd;           /* read end of its report pipe; -1 once closed */
    raft_index index; /* what it covers: last applied index and its term at the fork */
    raft_term term;
    uint64_t bytes_mark; /* applied_bytes at the fork */
    uint64_t started_ms;
    uint64_t fork_ms; /* how long fork() held the event loop */
    bool superseded;  /* a snapshot from the leader was installed meanwhile */
    size_t got;       /* bytes of report read so far */
    struct snapshot_report report;
};

struct peer {
    struct config cfg;
    /* The address book: every peer of the file, ids 1..n in file order. Who votes is the
     * configuration's business (docs/MEMBERSHIP.md), not the file's. */
    int n;
    int boot_n; /* N of the command line; 0 for raft_peer NAME --join */
    struct raft_configuration boot_configuration;     /* data/<peer>/bootstrap */
    struct raft_configuration snapshot_configuration; /* the one our snapshot carries */
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

    /* The services' own state, each behind its header. */
    struct client_service *clients;        /* client_service.h */
    struct membership_service *membership; /* membership_service.h */
    struct game_stream *game;              /* game_stream.h: NULL without -v */
    struct trace_log *trace;               /* trace_log.h */

    /* Snapshots (§7): ours on disk, transfers out (leader) and in (follower). */
    char data_dir[CONFIG_PATH_MAX + 80]; /* data/<peer> */
    raft_index snapshot_index;
    raft_term snapshot_term;
    uint64_t snapshot_size;
    uint32_t snapshot_crc;
    struct snapshot_send sends[CONFIG_MAX_PEERS + 1];
    struct snapshot_receiver *receiver;
    raft_index receiving_index;
    raft_term receiving_term;
    uint64_t receiving_size;
    uint32_t receiving_crc;
    uint64_t receiving_have; /* bytes of it durable so far */
    struct snapshot_child child;
    struct snapshot_install *installing; /* a received snapshot being read (follower) */
    uint64_t applied_bytes;              /* payload bytes of the entries applied since boot */
    uint64_t snapshot_bytes_mark;        /* applied_bytes when our last snapshot was taken */
    uint64_t snapshot_retry_ms;          /* after a failed snapshot, no new one before this */
    unsigned snapshot_failures;          /* in a row, for the back-off */

    /* Network faults a classroom sets through control messages (-v only). */
    struct net_faults faults;
    struct net_delay delay;
    unsigned pace;      /* lesson pace: the INI's timing times this (pace_control.c) */
    bool fast_failover; /* a lost leader's closed connection hurries an election */

    int64_t tick_timer;
    raft_time tick_due;
    enum raft_role last_role;

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

/* snapshot_service.c: taking, sending, receiving and loading snapshots. */
int snapshot_boot(struct peer *p, char *err, size_t errlen);
void snapshot_maybe_take(struct peer *p);
void snapshot_start_sends(struct peer *p, const struct raft_snapshot_request *reqs, size_t n);
void snapshot_handle_chunk(struct peer *p, struct json_object *obj);
void snapshot_handle_result(struct peer *p, struct json_object *obj);
void snapshot_housekeeping(struct peer *p);
/* Reaps a finished snapshot child, if any, and adopts its snapshot. Never blocks. */
void snapshot_child_poll(struct peer *p);
void snapshot_abort_sends(struct peer *p);
/* Gives up the transfer to one follower and tells the core. Only between readies. */
void snapshot_abort_send(struct peer *p, raft_id to);
void snapshot_free(struct peer *p);
/* For snapshot_install.c: answers the leader's transfer; makes meta our snapshot. */
struct snapshot_meta;
void snapshot_reply(struct peer *p, raft_id leader, raft_index index, uint64_t next, bool done);
void snapshot_adopted(struct peer *p, const struct snapshot_meta *m);

/* snapshot_install.c: a durable received snapshot read into the state machine a slice
 * at a time, then handed to the core (raft_install_snapshot) and answered. 0, or -1
 * (logged) when it cannot even start. */
struct snapshot_install;
int snapshot_install_start(struct peer *p, raft_id leader, raft_term term, raft_index index);
void snapshot_install_cancel(struct peer *p);

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

#endif
