/* membership_service.h: add, promote and remove requests on the leader, followed until
 * they commit; and noticing that we were removed ourselves (docs/MEMBERSHIP.md). The
 * change under way and what removal needs to know are its own (struct
 * membership_service, behind p->membership). */
#ifndef RAFT_PEER_MEMBERSHIP_SERVICE_H
#define RAFT_PEER_MEMBERSHIP_SERVICE_H

#include <stdbool.h>
#include <stddef.h>

#include "raft_peer/core/raft.h"

struct peer;
struct conn;
struct json_object;
struct membership_service;

/* Sets up p->membership. 0, or -1 with the reason in err. */
int membership_init(struct peer *p, char *err, size_t errlen);
void membership_free(struct peer *p);

void membership_handle_request(struct peer *p, struct conn *c, struct json_object *obj);
/* After every ready, and every heartbeat interval: follows the change under way. */
void membership_progress(struct peer *p);
/* An AppendEntries arrived carrying the leader's commit index. */
void membership_heard_leader_commit(struct peer *p, raft_index leader_commit);
/* True once a committed configuration no longer holds us (logged here): the caller
 * stops the peer. */
bool membership_check_removed(struct peer *p);

#endif
