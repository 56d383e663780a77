/* trace_log.h: the core's trace events, told as sentences in logs/<peer>.log. What a
 * sentence needs to remember between events is its own (struct trace_log, behind
 * p->trace). */
#ifndef RAFT_PEER_TRACE_LOG_H
#define RAFT_PEER_TRACE_LOG_H

#include <stddef.h>

#include "raft_peer/core/raft.h"

struct peer;
struct trace_log;

/* Sets up p->trace; before the core is created, which traces from raft_new on. 0, or -1
 * with the reason in err. */
int trace_log_init(struct peer *p, char *err, size_t errlen);
void trace_log_free(struct peer *p);
/* The core's trace callback (ctx: the peer). */
void trace_to_log(void *ctx, const struct raft_trace *t);

#endif
