/* events.h: the core's trace callback, printing role changes, commits, truncations... */
#ifndef SCENARIO_EVENTS_H
#define SCENARIO_EVENTS_H

#include "raft_peer/core/raft.h"

/* ctx is the struct peer the core belongs to. */
void on_trace(void *ctx, const struct raft_trace *tr);

#endif
