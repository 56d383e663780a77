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
/* The modules below own their state behind a handle in struct peer; their headers are
 * included here so every glue file sees their calls, as when peer.h declared them. */
#include "raft_peer/fault_control.h"
#include "raft_peer/net/conn_table.h"
#include "raft_peer/outbox.h"
#include "raft_peer/pace_control.h"
#include "raft_peer/peer_links.h"
#include "raft_peer/replies.h"

struct event_loop;
struct storage;
struct state_machine;
struct json_object;

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

    struct peer_links *links; /* outbound, peer_links.c */
    struct conn_table *conns; /* accepted, net/conn_table.c; lines go to dispatch.c */

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

    /* What a classroom sets through control messages (-v only). */
    struct fault_control *faults; /* network faults, fault_control.c */
    struct pace_control *pace;    /* lesson pace, pace_control.c */

    int64_t tick_timer;
    raft_time tick_due;
    enum raft_role last_role;

    struct raft_entry *entry_space; /* RPC_MAX_ENTRIES, where decoded RPCs put their entries */
    char err[512];                  /* scratch for helpers' messages */
};

/* Loads everything and opens the port, whose lines go to the handlers in lines (ctx is
 * set to p: main.c hands dispatch.c's, so nothing calls dispatch by name). On failure returns -1
 * with a one-line message in err (the caller prints it and exits non-zero). */
int peer_start(struct peer *p, const struct config *cfg, int n, int self_index, bool visual,
               const char *log_level, const struct conn_handlers *lines, char *err, size_t errlen);
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

/* peer_links.h, outbox.h, fault_control.h, pace_control.h: the links to the other
 * peers, the way out to them, network faults and lesson pace. */

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

/* net/conn_table.h, replies.h: accepted connections and answers on them; dispatch.h
 * what their lines mean. */

#endif
