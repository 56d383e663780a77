/* replies.h: answering on an accepted connection, for every service: raw bytes, one JSON
 * object per line, and a control message's answer. Only the transport below
 * (raft_peer/net/conn_table.h), so any service may call it. */
#ifndef RAFT_PEER_REPLIES_H
#define RAFT_PEER_REPLIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "raft_peer/net/conn_table.h"

struct peer;
struct json_object;

/* Queues and writes; -1 when c is closed (now or before). c stays readable either way
 * until the next conn_table_reap(). */
int conn_send(struct peer *p, struct conn *c, const char *data, size_t len);
/* One JSON object and its newline, then puts o. Same return as conn_send. */
int conn_send_json(struct peer *p, struct conn *c, struct json_object *o);
/* The open connection on fd, if it is still the one with this id. */
struct conn *conn_lookup(struct peer *p, int fd, uint64_t id);

/* A control message's answer: ok (with add_state's fields of what changed) or
 * bad_request, the message, and this peer's name (fault_control.c, pace_control.c). */
void control_respond(struct peer *p, struct conn *c, bool ok, const char *message,
                     void (*add_state)(const struct peer *p, struct json_object *o));

#endif
