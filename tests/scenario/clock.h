/* clock.h: each peer's own clock, which only commands move. */
#ifndef SCENARIO_CLOCK_H
#define SCENARIO_CLOCK_H

#include "raft_peer/core/raft.h"

struct peer;

/* Advances p's clock to target, ticking at every deadline on the way, as a real event
 * loop would (a leader ticked 300 ms sends every heartbeat in between). */
int peer_advance(struct peer *p, raft_time target);
/* Runs p's clock from deadline to deadline until its election timer fires. */
int peer_campaign(struct peer *p);

#endif
