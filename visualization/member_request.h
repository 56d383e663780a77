/* member_request.h: the game's membership requests (docs/CONTRACT.md, docs/MEMBERSHIP.md):
 * {"type":"membership","action":"add"|"remove","peer":NAME} sent to the leader by a
 * requester (requester.h); an add is answered only once the new peer has caught up and
 * been promoted, so the answer may take a minute. */
#ifndef GAME_MEMBER_REQUEST_H
#define GAME_MEMBER_REQUEST_H

#include "visualization/requester.h"

/* Sends action ("add" or "remove") for peer, starting with slot first (the leader, if
 * known). 0 when started, -1 when a request is already on its way. */
int member_request_send(struct requester *rq, const char *action, const char *peer, int first);

#endif /* GAME_MEMBER_REQUEST_H */
