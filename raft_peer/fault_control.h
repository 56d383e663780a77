/* fault_control.h: the classroom's network faults (-v only): partition, isolate, cut,
 * heal and delay, set by control messages. The state is this module's; the outbox
 * (outbox.c) and the dispatch of incoming lines (dispatch.c) ask it what to drop and
 * what to hold. */
#ifndef RAFT_PEER_FAULT_CONTROL_H
#define RAFT_PEER_FAULT_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "raft_peer/core/raft.h"

struct peer;
struct conn;
struct json_object;
struct fault_control;

/* p->faults, on p->el (created first). 0, or -1 when out of memory. Made with or without
 * -v, before anything is sent or received, and freed after the last message: the calls
 * below take it as there (a peer without -v simply never has a fault set). */
int faults_init(struct peer *p);
void faults_free(struct peer *p);
/* Carries out a control message whose action net_faults_is_action accepts, logs it and
 * answers on c. True when the faults changed (the caller shows the game at once). */
bool faults_handle_control(struct peer *p, struct conn *c, struct json_object *obj,
                           const char *action);
/* True when a cut drops what we send to peer to (counted as dropped_out). */
bool faults_drop_out(struct peer *p, raft_id to);
/* True when a cut drops what peer from sends us (counted as dropped_in). */
bool faults_drop_in(struct peer *p, raft_id from);
/* True while peer messages are held for a delay: give them to faults_hold. */
bool faults_delaying(const struct peer *p);
/* Holds an encoded peer message for the delay, or drops it with one log line past the
 * bounds. Once its time has come it goes out through links_send_now, unless cut by then. */
void faults_hold(struct peer *p, raft_id to, const char *line, size_t len);
/* Adds cut, cut_to, cut_from, fault, delay_ms, held, dropped_out, dropped_in to o. */
void faults_add_json(const struct peer *p, struct json_object *o);
/* Bumped by every change (the game stream's digest), and the delay now. */
uint64_t faults_version(const struct peer *p);
uint32_t faults_delay_ms(const struct peer *p);

#endif
