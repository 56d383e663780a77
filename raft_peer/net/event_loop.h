/* event_loop.h: the daemon's single-threaded epoll loop: file events, timers, a pre-sleep hook. */
#ifndef RAFT_PEER_EVENT_LOOP_H
#define RAFT_PEER_EVENT_LOOP_H

#include <stddef.h>
#include <stdint.h>

#define EL_NONE     0
#define EL_READABLE 1
#define EL_WRITABLE 2

/* Highest fd number the loop accepts, so a hostile flood of connections cannot make
 * the fd table grow without bound (the process rlimit is usually lower anyway). */
#define EL_MAX_FDS 65536

struct event_loop;

/* Called with the events that fired (EL_READABLE and/or EL_WRITABLE). The callback may
 * delete or close any fd, its own included. */
typedef void el_file_proc(struct event_loop *el, int fd, void *clientdata, int mask);
/* Returns the next interval in ms to fire again, or -1 to delete the timer. */
typedef int64_t el_timer_proc(struct event_loop *el, int64_t id, void *clientdata);
typedef void el_hook_proc(struct event_loop *el, void *clientdata);

/* A loop with room for fds below initial_fds (grows on demand). NULL with err set. */
struct event_loop *el_create(int initial_fds, char *err, size_t errlen);
/* Frees the loop and its timers; closes nothing but the epoll fd. */
void el_free(struct event_loop *el);

/* Watches fd for the events in mask (added to those already watched). proc and
 * clientdata replace the fd's previous ones. 0, or -1 with errno set. */
int el_add_file(struct event_loop *el, int fd, int mask, el_file_proc *proc, void *clientdata);
/* Stops watching fd for the events in mask; with none left the fd is forgotten. */
void el_del_file(struct event_loop *el, int fd, int mask);
/* The events fd is watched for (EL_NONE when unknown). */
int el_file_mask(const struct event_loop *el, int fd);

/* Fires proc after ms milliseconds. Returns the timer id (>= 1) or -1 (no memory). */
int64_t el_add_timer(struct event_loop *el, int64_t ms, el_timer_proc *proc, void *clientdata);
/* 0, or -1 when no such timer. Safe from inside any callback, the timer's own included. */
int el_del_timer(struct event_loop *el, int64_t id);

/* Called before each sleep: where the daemon makes writes durable, then queues sends. */
void el_set_before_sleep(struct event_loop *el, el_hook_proc *proc, void *clientdata);

/* Milliseconds on CLOCK_MONOTONIC. */
uint64_t el_now_ms(void);

/* One round: before_sleep, wait (at most until the next timer; not at all when
 * dont_wait), run fired file events, then due timers. Returns the number of events
 * handled, or -1 if epoll_wait failed for a reason other than EINTR. */
int el_run_once(struct event_loop *el, int dont_wait);
/* Runs rounds until el_stop. 0, or -1 if epoll failed. */
int el_run(struct event_loop *el);
/* Makes el_run return after the current round. */
void el_stop(struct event_loop *el);

#endif
