/* pace_control.h: the lesson pace (-v only), set by a control message: the INI's timing
 * times a whole factor, and whether a lost leader's closed connection hurries an election. */
#ifndef RAFT_PEER_PACE_CONTROL_H
#define RAFT_PEER_PACE_CONTROL_H

#include <stdbool.h>

struct peer;
struct conn;
struct json_object;
struct pace_control;

#define PACE_MAX_FACTOR 50 /* 300 ms timeouts become 15 s: slow enough for any lesson */

/* p->pace at factor 1 with the fast failover on. 0, or -1 when out of memory. */
int pace_init(struct peer *p);
void pace_free(struct peer *p);
/* Carries out {"action":"pace",...}, logs it and answers on c. True when the timing
 * changed (the caller shows the game at once). */
bool pace_handle_control(struct peer *p, struct conn *c, struct json_object *obj);
/* Adds pace and fast_failover to o (status, the game stream's state). */
void pace_add_json(const struct peer *p, struct json_object *o);
/* The factor now (1 until changed), and whether the fast failover is on. */
unsigned pace_factor(const struct peer *p);
bool pace_fast_failover(const struct peer *p);

#endif
