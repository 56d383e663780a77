/* event_loop.c: a small epoll loop in the spirit of redis's ae. */
#include "raft_peer/net/event_loop.h"
#include "common/error_message.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define EL_BATCH 256 /* events taken per epoll_wait; the rest stay pending (level-triggered) */

struct file_event {
    int mask; /* EL_READABLE | EL_WRITABLE, EL_NONE when the slot is free */
    el_file_proc *proc;
    void *clientdata;
};

struct timer {
    int64_t id;
    uint64_t when;  /* el_now_ms() at which it is due */
    uint64_t round; /* the round it last fired in, so it fires at most once per round */
    bool deleted;   /* freed at the start of the next timer pass, never under a callback */
    el_timer_proc *proc;
    void *clientdata;
    struct timer *next;
};

struct event_loop {
    int epfd;
    struct file_event *files; /* indexed by fd */
    int nfiles;
    struct timer *timers;
    int64_t next_timer_id;
    uint64_t round;
    bool stop;
    el_hook_proc *before_sleep;
    void *before_sleep_data;
    struct epoll_event fired[EL_BATCH];
};

uint64_t el_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct event_loop *el_create(int initial_fds, char *err, size_t errlen)
{
    struct event_loop *el = calloc(1, sizeof(*el));
    if (!el) {
        set_err(err, errlen, "out of memory");
        return NULL;
    }
    el->epfd = -1;
    el->next_timer_id = 1;
    if (initial_fds < 16)
        initial_fds = 16;
    if (initial_fds > EL_MAX_FDS)
        initial_fds = EL_MAX_FDS;
    el->files = calloc((size_t)initial_fds, sizeof(*el->files));
    if (!el->files) {
        set_err(err, errlen, "out of memory");
        goto fail;
    }
    el->nfiles = initial_fds;
    el->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (el->epfd == -1) {
        set_err(err, errlen, "epoll_create1: %s", strerror(errno));
        goto fail;
    }
    return el;
fail:
    free(el->files);
    free(el);
    return NULL;
}

void el_free(struct event_loop *el)
{
    if (!el)
        return;
    struct timer *t = el->timers;
    while (t) {
        struct timer *next = t->next;
        free(t);
        t = next;
    }
    if (el->epfd != -1)
        close(el->epfd);
    free(el->files);
    free(el);
}

static int grow_files(struct event_loop *el, int fd)
{
    if (fd < el->nfiles)
        return 0;
    if (fd >= EL_MAX_FDS) {
        errno = ERANGE;
        return -1;
    }
    int n = el->nfiles;
    while (n <= fd)
        n *= 2;
    if (n > EL_MAX_FDS)
        n = EL_MAX_FDS;
    struct file_event *f = realloc(el->files, (size_t)n * sizeof(*f));
    if (!f)
        return -1;
    memset(f + el->nfiles, 0, (size_t)(n - el->nfiles) * sizeof(*f));
    el->files = f;
    el->nfiles = n;
    return 0;
}

static uint32_t epoll_bits(int mask)
{
    uint32_t ev = 0;
    if (mask & EL_READABLE)
        ev |= EPOLLIN;
    if (mask & EL_WRITABLE)
        ev |= EPOLLOUT;
    return ev;
}

int el_add_file(struct event_loop *el, int fd, int mask, el_file_proc *proc, void *clientdata)
{
    if (fd < 0 || !proc || (mask & ~(EL_READABLE | EL_WRITABLE)) != 0) {
        errno = EINVAL;
        return -1;
    }
    if (grow_files(el, fd) != 0)
        return -1;
    struct file_event *fe = &el->files[fd];
    int newmask = fe->mask | mask;
    struct epoll_event ee;
    memset(&ee, 0, sizeof(ee));
    ee.events = epoll_bits(newmask);
    ee.data.fd = fd;
    int op = fe->mask == EL_NONE ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
    int rc = epoll_ctl(el->epfd, op, fd, &ee);
    /* A caller that closed an fd without el_del_file leaves a stale slot; the new file
     * behind the same number is not in the epoll set yet, so add it instead. */
    if (rc == -1 && op == EPOLL_CTL_MOD && errno == ENOENT) {
        newmask = mask;
        ee.events = epoll_bits(newmask);
        rc = epoll_ctl(el->epfd, EPOLL_CTL_ADD, fd, &ee);
    }
    if (rc == -1)
        return -1;
    fe->mask = newmask;
    fe->proc = proc;
    fe->clientdata = clientdata;
    return 0;
}

void el_del_file(struct event_loop *el, int fd, int mask)
{
    if (fd < 0 || fd >= el->nfiles || el->files[fd].mask == EL_NONE)
        return;
    struct file_event *fe = &el->files[fd];
    int newmask = fe->mask & ~mask;
    struct epoll_event ee;
    memset(&ee, 0, sizeof(ee));
    ee.events = epoll_bits(newmask);
    ee.data.fd = fd;
    /* Errors are ignored on purpose: a closed fd has already left the epoll set. */
    if (newmask == EL_NONE) {
        epoll_ctl(el->epfd, EPOLL_CTL_DEL, fd, &ee);
        fe->proc = NULL;
        fe->clientdata = NULL;
    } else {
        epoll_ctl(el->epfd, EPOLL_CTL_MOD, fd, &ee);
    }
    fe->mask = newmask;
}

int el_file_mask(const struct event_loop *el, int fd)
{
    if (fd < 0 || fd >= el->nfiles)
        return EL_NONE;
    return el->files[fd].mask;
}

int64_t el_add_timer(struct event_loop *el, int64_t ms, el_timer_proc *proc, void *clientdata)
{
    if (!proc)
        return -1;
    struct timer *t = calloc(1, sizeof(*t));
    if (!t)
        return -1;
    if (ms < 0)
        ms = 0;
    t->id = el->next_timer_id++;
    t->when = el_now_ms() + (uint64_t)ms;
    t->proc = proc;
    t->clientdata = clientdata;
    t->next = el->timers;
    el->timers = t;
    return t->id;
}

int el_del_timer(struct event_loop *el, int64_t id)
{
    for (struct timer *t = el->timers; t; t = t->next) {
        if (t->id == id && !t->deleted) {
            t->deleted = true;
            return 0;
        }
    }
    return -1;
}

void el_set_before_sleep(struct event_loop *el, el_hook_proc *proc, void *clientdata)
{
    el->before_sleep = proc;
    el->before_sleep_data = clientdata;
}

void el_stop(struct event_loop *el)
{
    el->stop = true;
}

/* Frees deleted timers; only called when no timer callback is running. */
static void sweep_timers(struct event_loop *el)
{
    struct timer **link = &el->timers;
    while (*link) {
        struct timer *t = *link;
        if (t->deleted) {
            *link = t->next;
            free(t);
        } else {
            link = &t->next;
        }
    }
}

/* Milliseconds until the earliest timer (0 if one is due), -1 with no timer at all. */
static int wait_ms(const struct event_loop *el)
{
    const struct timer *best = NULL;
    for (const struct timer *t = el->timers; t; t = t->next)
        if (!t->deleted && (!best || t->when < best->when))
            best = t;
    if (!best)
        return -1;
    uint64_t now = el_now_ms();
    if (best->when <= now)
        return 0;
    uint64_t d = best->when - now;
    return d > INT_MAX ? INT_MAX : (int)d;
}

/* Fires the due timers in deadline order. A timer created or rescheduled during the
 * pass waits for the next round, so a 0 ms timer cannot starve the file events. */
static int process_timers(struct event_loop *el)
{
    int handled = 0;
    sweep_timers(el);
    int64_t max_id = el->next_timer_id - 1;
    uint64_t round = ++el->round;
    uint64_t now = el_now_ms();
    for (;;) {
        struct timer *best = NULL;
        for (struct timer *t = el->timers; t; t = t->next) {
            if (t->deleted || t->id > max_id || t->round == round || t->when > now)
                continue;
            if (!best || t->when < best->when || (t->when == best->when && t->id < best->id))
                best = t;
        }
        if (!best)
            break;
        best->round = round;
        int64_t next = best->proc(el, best->id, best->clientdata);
        handled++;
        if (best->deleted)
            continue;
        if (next < 0)
            best->deleted = true;
        else
            best->when = el_now_ms() + (uint64_t)next;
    }
    return handled;
}

int el_run_once(struct event_loop *el, int dont_wait)
{
    if (el->before_sleep)
        el->before_sleep(el, el->before_sleep_data);
    /* The hook may have stopped the loop or added a timer: look again before sleeping. */
    int timeout = (dont_wait || el->stop) ? 0 : wait_ms(el);
    int n = epoll_wait(el->epfd, el->fired, EL_BATCH, timeout);
    if (n == -1) {
        if (errno != EINTR)
            return -1;
        n = 0;
    }
    int handled = 0;
    for (int i = 0; i < n; i++) {
        int fd = el->fired[i].data.fd;
        uint32_t ev = el->fired[i].events;
        if (fd < 0 || fd >= el->nfiles)
            continue;
        int fired = 0;
        /* Errors and hang-ups are reported as whatever the fd waits for, so the
         * callback's read or write meets the error itself. */
        if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP))
            fired |= EL_READABLE;
        if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))
            fired |= EL_WRITABLE;
        /* Look at the mask now: an earlier callback in this batch may have dropped fd. */
        struct file_event *fe = &el->files[fd];
        fired &= fe->mask;
        if (fired && fe->proc) {
            fe->proc(el, fd, fe->clientdata, fired);
            handled++;
        }
    }
    handled += process_timers(el);
    return handled;
}

int el_run(struct event_loop *el)
{
    while (!el->stop) {
        if (el_run_once(el, 0) == -1)
            return -1;
    }
    /* Reset on the way out, not on entry, so an el_stop that came first is not lost. */
    el->stop = false;
    return 0;
}
