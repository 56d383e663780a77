/* dispatch.h: what a line on an accepted connection means. The transport
 * (raft_peer/net/conn_table.h) hands over each line through the handlers main.c gives it;
 * nothing calls these by name. */
#ifndef RAFT_PEER_DISPATCH_H
#define RAFT_PEER_DISPATCH_H

#include <stddef.h>

struct conn;

/* ctx is the struct peer. A client's request, a control message, a peer's hello, RPC or
 * snapshot chunk: checked (size, token, sender, cuts), parsed once and handed to the
 * service it is for; bad input gets bad_request, never a crash. */
void dispatch_line(void *ctx, struct conn *c, const char *line, size_t len);
/* c sent a line past its limit: says so before the transport closes it. */
void dispatch_line_too_long(void *ctx, struct conn *c);

#endif
