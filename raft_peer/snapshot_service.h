/* snapshot_service.h: log compaction (§7) for the daemon: taking our snapshots, sending
 * them to followers that need compacted entries, receiving the leader's. Its state
 * (struct snapshots) is its own; the peer holds only the handle, p->snapshots. */
#ifndef RAFT_PEER_SNAPSHOT_SERVICE_H
#define RAFT_PEER_SNAPSHOT_SERVICE_H

#include <stddef.h>
#include <stdint.h>

#include "raft_peer/core/raft.h"

struct peer;
struct snapshots;
struct json_object;

/* Boot order: the snapshot first, so the log can be opened after it. Creates
 * p->snapshots and loads our snapshot into the state machine; 0, or -1 with a message in
 * err. */
int snapshot_boot(struct peer *p, char *err, size_t errlen);
/* Stops a running child, gives up every transfer and frees p->snapshots (NULL is fine). */
void snapshot_free(struct peer *p);

/* What our snapshot covers (0 and 0 when we have none), and the configuration it
 * carries: what the core and the log boot from. */
raft_index snapshot_last_index(const struct snapshots *s);
raft_term snapshot_last_term(const struct snapshots *s);
struct raft_configuration snapshot_last_configuration(const struct snapshots *s);

/* Payload bytes of an applied entry, counted for snapshot_threshold_bytes. */
void snapshot_note_applied(struct snapshots *s, uint64_t bytes);

/* After a ready: a snapshot of our own, taken by a forked child (snapshot_child.c), once
 * enough was applied since the last one. */
void snapshot_maybe_take(struct peer *p);
/* Leader: starts a transfer to each follower the core asks one for. */
void snapshot_start_sends(struct peer *p, const struct raft_snapshot_request *reqs, size_t n);
/* install_snapshot (follower) and install_snapshot_result (leader) as they came in. */
void snapshot_handle_chunk(struct peer *p, struct json_object *obj);
void snapshot_handle_result(struct peer *p, struct json_object *obj);
/* Every heartbeat interval: reaps a finished child, resends unanswered chunks. */
void snapshot_housekeeping(struct peer *p);
/* Gives up every transfer out (we stopped leading); the core is not told. */
void snapshot_abort_sends(struct peer *p);
/* Gives up the transfer to one follower and tells the core. Only between readies. */
void snapshot_abort_send(struct peer *p, raft_id to);

#endif
