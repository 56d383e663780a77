/* status.h: this peer's own view as JSON: the answer to {"type":"status"}, and the pieces
 * the game stream and membership answers share. Stateless: it only reads. */
#ifndef RAFT_PEER_STATUS_H
#define RAFT_PEER_STATUS_H

#include <stdint.h>

struct peer;
struct conn;
struct json_object;

void status_send(struct peer *p, struct conn *c);
/* The leader's view of each follower, each named under name_key. */
struct json_object *status_followers_json(const struct peer *p, const char *name_key);
/* The peers of mask (bit i: peer id i), by name, as a JSON array; ids are positions in
 * the ini file. */
struct json_object *peer_names_json(const struct peer *p, uint32_t mask);
/* Voters and learners of the configuration in use (N of the command line while it has
 * none): the "n" of status and of the game stream. */
int peer_cluster_size(const struct peer *p);

#endif
