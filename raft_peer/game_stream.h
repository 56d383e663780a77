/* game_stream.h: with -v, UDP datagrams for raft_game (docs/GAME_STREAM.md). Its socket
 * and rate limits are its own (struct game_stream, behind p->game: NULL without -v or
 * when the game's address does not resolve, and then every call does nothing). */
#ifndef RAFT_PEER_GAME_STREAM_H
#define RAFT_PEER_GAME_STREAM_H

#include <stdbool.h>
#include <stddef.h>

#include "common/event_log.h"
#include "raft_peer/core/raft.h"

struct peer;
struct game_stream;

/* Opens p->game; on failure logs why and leaves it NULL (the peer runs without it). */
void game_open(struct peer *p);
void game_close(struct peer *p);
/* This peer's state, when it changed (or always, with force). */
void game_send_state(struct peer *p, bool force);
void game_send_msg(struct peer *p, const struct raft_message *m);
/* The event log's sink (ctx: the peer): log lines become the game's events. */
void game_send_event(void *ctx, enum event_log_level level, const char *line, size_t len);

#endif
