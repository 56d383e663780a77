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
struct snapshots;

struct peer {
    struct config cfg;
    /* The address book: every peer of the file, ids 1..n in file order. Who votes is the
     * configuration's business (docs/MEMBERSHIP.md), not the file's. */
    int n;
    int boot_n; /* N of the command line; 0 for raft_peer NAME --join */
    struct raft_configuration boot_configuration; /* data/<peer>/bootstrap */
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

    char data_dir[CONFIG_PATH_MAX + 80]; /* data/<peer> */
    struct snapshots *snapshots;         /* snapshot_service.c */

    /* What a classroom sets through control messages (-v only). */
    struct fault_control *faults; /* network faults, fault_control.c */
    struct pace_control *pace;    /* lesson pace, pace_control.c */

    int64_t tick_timer;
    raft_time tick_due;
    enum raft_role last_role;

    struct raft_entry *entry_space; /* RPC_MAX_ENTRIES, where decoded RPCs put their entries */
    char err[512];                  /* peer.c's own: why the storage failed */
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

/* snapshot_service.h, snapshot_install.h: taking, sending, receiving and loading
 * snapshots. net/conn_table.h, replies.h: accepted connections and answers on them;
 * dispatch.h what their lines mean. */

#endif
