/* peer.h: driving one core: readies, persistence, the state machine, boot. */
#ifndef SCENARIO_PEER_H
#define SCENARIO_PEER_H

#include <stdint.h>

#include "tests/scenario/cluster.h"

struct read_req *read_find(struct peer *p, uint64_t ctx);
/* Handles readies until the core is quiet; 0, or -1 with c->err set. */
int peer_settle(struct peer *p);
/* Manual disk: every held write reaches the disk, in order; then its late messages
 * leave and the core hears about it. */
int peer_sync(struct peer *p);
/* raft_new from p's disk, then settles. */
int peer_boot(struct cluster *c, struct peer *p);

#endif
