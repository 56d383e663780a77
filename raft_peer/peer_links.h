/* peer_links.h: our outbound connection to each other peer, with backoff and a bounded
 * queue. It only carries what it is given: which messages are cut, delayed or shown to
 * the game is decided above it (outbox.c). */
#ifndef RAFT_PEER_PEER_LINKS_H
#define RAFT_PEER_PEER_LINKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "raft_peer/core/raft.h"

struct peer;
struct peer_links;

/* Bytes queued to one peer before we drop messages. The core sends a follower that
 * does not answer about max_inflight_bytes (1 MiB) of entries, one more batch of up to
 * 256 KiB as a probe, then empty probes; or one snapshot chunk at a time. JSON around
 * the entries makes that a little more: this is a backstop, not the bound. One silent for an
 * election timeout gets a probe or a snapshot chunk at most. */
#define PEER_LINK_QUEUE_MAX  (8u << 20)
#define PEER_LINK_SILENT_MAX (64u << 10)

/* Called by links_report_lost, before the core hears of it, for a follower that is
 * silent and had messages given up: whatever else is on its way to it (a snapshot
 * transfer) is given up too. */
typedef void links_silent_fn(struct peer *p, raft_id id);

/* p->links, connecting to the members of the configuration. 0, or -1 when out of memory. */
int links_init(struct peer *p, links_silent_fn *on_silent_drops);
void links_free(struct peer *p);
/* Retries links that are due and notices silent followers; every heartbeat interval. */
void links_maintain(struct peer *p);
/* Queues one core message for its peer and writes what the socket takes. */
void links_send(struct peer *p, const struct raft_message *m);
/* A line that is not a core message (a snapshot chunk), on the same connection; dropped
 * while the link is down, as any message for a peer that is down. */
void links_send_line(struct peer *p, raft_id to, const char *line, size_t len);
/* The same, connecting first when a retry is due (a delayed line whose time has come). */
void links_send_now(struct peer *p, raft_id to, const char *line, size_t len);
/* Tells the core about links lost and messages given up since the last call. Only
 * between readies: any core call frees the ready being worked through (raft.h). */
void links_report_lost(struct peer *p);

/* For status: whether the link to id is silent, bytes queued now, given up since start. */
struct link_stats {
    bool silent;
    uint64_t queued_bytes;
    uint64_t dropped_bytes;
};
struct link_stats links_stats(const struct peer *p, raft_id id);

#endif
