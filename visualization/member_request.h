/* member_request.h: the game's membership requests (docs/CONTRACT.md, docs/MEMBERSHIP.md):
 * {"type":"membership","action":"add"|"remove","peer":NAME} sent to the leader on a thread
 * of its own, following not_leader redirects, since an add is answered only once the new
 * peer has caught up and been promoted. The answer comes back as a line for the feed. */
#ifndef GAME_MEMBER_REQUEST_H
#define GAME_MEMBER_REQUEST_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "visualization/submit.h"

struct member_requester {
    struct submit_peer peers[VILLAGE_MAX_PEERS];
    int n_peers;
    atomic_bool busy; /* one change at a time, as the cluster allows */
    int pipe_rd, pipe_wr;
};

/* 0, or -1 with err. */
int member_requester_init(struct member_requester *q, char *err, size_t errlen);
void member_requester_add_peer(struct member_requester *q, const char *name, const char *host,
                               int port);

/* Sends action ("add" or "remove") for peer, starting with slot first (the leader, if
 * known). 0 when started, -1 when a request is already on its way. */
int member_requester_send(struct member_requester *q, const char *action, const char *peer,
                          int first);

/* 1 and a line for the feed in text when a request finished, 0 when nothing is new. */
int member_requester_poll(struct member_requester *q, char *text, size_t len);

#endif /* GAME_MEMBER_REQUEST_H */
