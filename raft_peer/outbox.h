/* outbox.h: every message this peer sends another peer goes out through here, where the
 * classroom's faults act (a cut drops it, a delay holds it) and the game is shown it,
 * before the links (peer_links.h) carry it. */
#ifndef RAFT_PEER_OUTBOX_H
#define RAFT_PEER_OUTBOX_H

#include <stddef.h>

#include "raft_peer/core/raft.h"

struct peer;

/* One of the core's messages. */
void outbox_send(struct peer *p, const struct raft_message *m);
/* An encoded line that is not a core message (a snapshot chunk), with its newline. */
void outbox_send_line(struct peer *p, raft_id to, const char *line, size_t len);

#endif
