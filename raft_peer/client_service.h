/* client_service.h: CONTRACT.md's client protocol on the leader: commands proposed and
 * answered once applied, ReadIndex reads, redirects and transfer requests. Its pending
 * proposals and reads are its own (struct client_service, behind p->clients). */
#ifndef RAFT_PEER_CLIENT_SERVICE_H
#define RAFT_PEER_CLIENT_SERVICE_H

#include <stdbool.h>
#include <stddef.h>

#include "raft_peer/core/raft.h"

struct peer;
struct conn;
struct json_object;
struct sm_result;
struct client_service;

/* Sets up p->clients. 0, or -1 with the reason in err. */
int client_init(struct peer *p, char *err, size_t errlen);
void client_free(struct peer *p);

/* Requests connections.c hands over, and the answers it gives itself. */
void client_handle_request(struct peer *p, struct conn *c, struct json_object *obj);
void client_handle_transfer(struct peer *p, struct conn *c, struct json_object *obj, bool control);
void client_send_error(struct peer *p, struct conn *c, const char *code, const char *message);
void client_send_not_leader(struct peer *p, struct conn *c);

/* Entry index was applied with result res (peer.c applies): answers whoever waits on it. */
void client_on_applied(struct peer *p, raft_index index, const struct raft_entry *e,
                       const struct sm_result *res);
void client_on_reads(struct peer *p, const struct raft_ready *rd);
/* Leadership (or the disk) is gone: everyone waiting gets `unavailable`, why. */
void client_fail_all(struct peer *p, const char *why);

#endif
