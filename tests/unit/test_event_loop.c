/* test_event_loop.c: timers, file events, the pre-sleep hook and stopping. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "raft_peer/net/event_loop.h"
#include "tests/lib/time_scale.h"

static char err[128];

struct trace {
    int order[16];
    int n;
    int stop_after; /* stop the loop once this many timers fired */
};

static int64_t record(struct event_loop *el, int64_t id, void *data)
{
    struct trace *t = data;
    (void)id;
    if (t->n < 16)
        t->order[t->n] = (int)t->n;
    t->n++;
    if (t->n >= t->stop_after)
        el_stop(el);
    return -1;
}

/* Each of these timers writes its own tag, so the firing order is visible. */
struct tagged {
    struct trace *t;
    int tag;
};

static int64_t record_tag(struct event_loop *el, int64_t id, void *data)
{
    struct tagged *tg = data;
    (void)id;
    tg->t->order[tg->t->n++] = tg->tag;
    if (tg->t->n >= tg->t->stop_after)
        el_stop(el);
    return -1;
}

static struct event_loop *new_loop(void)
{
    struct event_loop *el = el_create(8, err, sizeof(err));
    cr_assert_not_null(el, "el_create: %s", err);
    return el;
}

/* A timer's deadline is the clock when it is added plus its delay, so three timers added
 * in a row are k ms apart only if the adds themselves took less than k ms: a process
 * descheduled between two adds would get another order, rightly. Adds them into a fresh
 * loop until one attempt was quick enough (delays 3k, k, 2k, in that order); the loop,
 * or NULL when no attempt was. */
static struct event_loop *add_three_in_reverse(struct tagged *a, struct tagged *b, struct tagged *c,
                                               int k)
{
    for (int attempt = 0; attempt < 100; attempt++) {
        struct event_loop *el = new_loop();
        uint64_t before = el_now_ms();
        cr_assert_gt(el_add_timer(el, 3 * k, record_tag, a), 0);
        cr_assert_gt(el_add_timer(el, 1 * k, record_tag, b), 0);
        cr_assert_gt(el_add_timer(el, 2 * k, record_tag, c), 0);
        /* Each add read the clock between before and now, so the first and the last
         * deadlines are at most now - before ms further apart than their delays. */
        if (el_now_ms() - before < (uint64_t)k)
            return el;
        el_free(el);
    }
    return NULL;
}

Test(event_loop, timers_fire_in_deadline_order)
{
    /* A loop that oversleeps its timers takes far longer than their 30 ms; a loaded
     * machine may too, now and then, by descheduling this process. So up to 5 attempts:
     * the order and the lower bound hold in every one, and one must end within a tight
     * bound, which only an oversleeping loop misses every time. */
    uint64_t bound = 200u * (uint64_t)test_time_scale(), fastest = UINT64_MAX;
    for (int attempt = 0; attempt < 5 && fastest >= bound; attempt++) {
        struct trace t = {.stop_after = 3};
        struct tagged a = {&t, 30}, b = {&t, 10}, c = {&t, 20};
        uint64_t start = el_now_ms();
        struct event_loop *el = add_three_in_reverse(&a, &b, &c, 10);
        cr_assert_not_null(el, "adding three timers never took under 10 ms");
        cr_assert_eq(el_run(el), 0);
        uint64_t took = el_now_ms() - start;
        cr_assert_eq(t.n, 3);
        cr_assert_eq(t.order[0], 10);
        cr_assert_eq(t.order[1], 20);
        cr_assert_eq(t.order[2], 30);
        cr_assert_geq(took, 30);
        /* Generous: only a loop that misses its deadlines by seconds fails. */
        cr_assert_lt(took, 10000, "took %llu ms", (unsigned long long)took);
        if (took < fastest)
            fastest = took;
        el_free(el);
    }
    cr_assert_lt(fastest, bound, "timers due within 30 ms took at least %llu ms in 5 attempts",
                 (unsigned long long)fastest);
}

Test(event_loop, due_timers_in_one_round_still_fire_in_order)
{
    struct trace t = {.stop_after = 3};
    struct tagged a = {&t, 3}, b = {&t, 1}, c = {&t, 2};
    /* Deadlines k ms apart (under valgrind the first calls alone take milliseconds: make
     * valgrind scales k). */
    int k = 10 * test_time_scale();
    struct event_loop *el = add_three_in_reverse(&a, &b, &c, k);
    cr_assert_not_null(el, "adding three timers never took under %d ms", k);
    usleep((useconds_t)(4 * k) * 1000); /* all three are due before the loop looks */
    cr_assert_eq(el_run_once(el, 1), 3);
    cr_assert_eq(t.order[0], 1);
    cr_assert_eq(t.order[1], 2);
    cr_assert_eq(t.order[2], 3);
    el_free(el);
}

struct periodic {
    int fired;
    int64_t victim; /* a timer to delete on the first firing */
};

static int64_t every_5ms(struct event_loop *el, int64_t id, void *data)
{
    struct periodic *p = data;
    (void)id;
    if (p->fired++ == 0 && p->victim > 0)
        cr_assert_eq(el_del_timer(el, p->victim), 0);
    if (p->fired == 4) {
        el_stop(el);
        return -1;
    }
    return 5;
}

static int64_t must_not_fire(struct event_loop *el, int64_t id, void *data)
{
    (void)el;
    (void)id;
    (void)data;
    cr_assert_fail("a deleted timer fired");
    return -1;
}

Test(event_loop, periodic_timer_and_deletion)
{
    struct event_loop *el = new_loop();
    struct periodic p = {0};
    int64_t gone = el_add_timer(el, 1, must_not_fire, NULL);
    cr_assert_eq(el_del_timer(el, gone), 0);
    cr_assert_eq(el_del_timer(el, gone), -1, "deleting twice must fail");
    cr_assert_eq(el_del_timer(el, 9999), -1);
    uint64_t start = el_now_ms();
    el_add_timer(el, 0, every_5ms, &p);
    /* Added after the periodic timer, so its deadline is later however slowly this runs:
     * the first firing always comes first and deletes it. */
    p.victim = el_add_timer(el, 40, must_not_fire, NULL);
    cr_assert_eq(el_run(el), 0);
    cr_assert_eq(p.fired, 4);
    cr_assert_geq(el_now_ms() - start, 15);
    /* The victim's deadline passes: it must stay dead. */
    usleep(50 * 1000);
    el_run_once(el, 1);
    el_free(el);
}

static int64_t delete_self(struct event_loop *el, int64_t id, void *data)
{
    int *count = data;
    (*count)++;
    cr_assert_eq(el_del_timer(el, id), 0);
    return 1; /* ignored: the timer deleted itself */
}

Test(event_loop, timer_can_delete_itself)
{
    struct event_loop *el = new_loop();
    int count = 0;
    el_add_timer(el, 0, delete_self, &count);
    for (int i = 0; i < 5; i++) {
        el_run_once(el, 1);
        usleep(2000);
    }
    cr_assert_eq(count, 1);
    el_free(el);
}

static int64_t zero_forever(struct event_loop *el, int64_t id, void *data)
{
    (void)el;
    (void)id;
    (*(int *)data)++;
    return 0;
}

Test(event_loop, zero_interval_timer_fires_once_per_round)
{
    struct event_loop *el = new_loop();
    int count = 0;
    el_add_timer(el, 0, zero_forever, &count);
    el_run_once(el, 1);
    cr_assert_eq(count, 1);
    el_run_once(el, 1);
    cr_assert_eq(count, 2);
    el_free(el);
}

struct pipe_ctx {
    int reads;
    int writes;
    char got[16];
};

static void on_pipe(struct event_loop *el, int fd, void *data, int mask)
{
    struct pipe_ctx *c = data;
    if (mask & EL_READABLE) {
        ssize_t n = read(fd, c->got, sizeof(c->got) - 1);
        cr_assert_gt(n, 0);
        c->reads++;
        el_stop(el);
    }
    if (mask & EL_WRITABLE) {
        c->writes++;
        el_del_file(el, fd, EL_WRITABLE);
    }
}

static int64_t write_later(struct event_loop *el, int64_t id, void *data)
{
    (void)el;
    (void)id;
    cr_assert_eq(write(*(int *)data, "hi", 2), 2);
    return -1;
}

Test(event_loop, file_events_fire_and_can_be_removed)
{
    struct event_loop *el = new_loop();
    int p[2];
    cr_assert_eq(pipe(p), 0);
    struct pipe_ctx c = {0};
    cr_assert_eq(el_add_file(el, p[0], EL_READABLE, on_pipe, &c), 0);
    cr_assert_eq(el_add_file(el, p[1], EL_WRITABLE, on_pipe, &c), 0);
    cr_assert_eq(el_file_mask(el, p[0]), EL_READABLE);
    el_add_timer(el, 10, write_later, &p[1]);
    cr_assert_eq(el_run(el), 0);
    cr_assert_eq(c.reads, 1);
    cr_assert_str_eq(c.got, "hi");
    cr_assert_eq(c.writes, 1, "writable should fire once, then be removed");
    cr_assert_eq(el_file_mask(el, p[1]), EL_NONE);

    el_del_file(el, p[0], EL_READABLE);
    cr_assert_eq(el_file_mask(el, p[0]), EL_NONE);
    cr_assert_eq(write(p[1], "x", 1), 1);
    cr_assert_eq(el_run_once(el, 1), 0, "a removed fd must not fire");
    cr_assert_eq(c.reads, 1);

    cr_assert_eq(el_add_file(el, -1, EL_READABLE, on_pipe, &c), -1);
    cr_assert_eq(el_add_file(el, p[0], 8, on_pipe, &c), -1);
    cr_assert_eq(el_add_file(el, EL_MAX_FDS, EL_READABLE, on_pipe, &c), -1);
    el_del_file(el, 12345, EL_READABLE); /* unknown fds are ignored */
    close(p[0]);
    close(p[1]);
    el_free(el);
}

Test(event_loop, high_fd_grows_the_table)
{
    struct event_loop *el = new_loop();
    int p[2];
    cr_assert_eq(pipe(p), 0);
    int high = fcntl(p[0], F_DUPFD, 200);
    cr_assert_geq(high, 200);
    struct pipe_ctx c = {0};
    cr_assert_eq(el_add_file(el, high, EL_READABLE, on_pipe, &c), 0);
    cr_assert_eq(write(p[1], "z", 1), 1);
    cr_assert_eq(el_run_once(el, 0), 1);
    cr_assert_eq(c.reads, 1);
    close(high);
    close(p[0]);
    close(p[1]);
    el_free(el);
}

Test(event_loop, fd_closed_without_del_can_be_reused)
{
    struct event_loop *el = new_loop();
    int p[2];
    cr_assert_eq(pipe(p), 0);
    struct pipe_ctx c = {0};
    cr_assert_eq(el_add_file(el, p[0], EL_READABLE | EL_WRITABLE, on_pipe, &c), 0);
    int old = p[0];
    close(p[0]); /* forgot el_del_file */
    int again = fcntl(p[1], F_DUPFD, old);
    cr_assert_eq(again, old, "the number should be reused");
    /* The new fd (a pipe write end) is watched for readable only: the stale writable bit
     * must not survive into the new registration. */
    cr_assert_eq(el_add_file(el, again, EL_READABLE, on_pipe, &c), 0);
    cr_assert_eq(el_file_mask(el, again), EL_READABLE);
    close(again);
    close(p[1]);
    el_free(el);
}

struct hook_ctx {
    int calls;
};

static void before_sleep(struct event_loop *el, void *data)
{
    struct hook_ctx *h = data;
    if (++h->calls == 3)
        el_stop(el);
}

static int64_t tick(struct event_loop *el, int64_t id, void *data)
{
    (void)el;
    (void)id;
    (void)data;
    return 1;
}

Test(event_loop, before_sleep_runs_every_round_and_can_stop)
{
    struct event_loop *el = new_loop();
    struct hook_ctx h = {0};
    el_set_before_sleep(el, before_sleep, &h);
    el_add_timer(el, 1, tick, NULL);
    cr_assert_eq(el_run(el), 0);
    cr_assert_eq(h.calls, 3);
    el_free(el);
}

Test(event_loop, stop_before_run_returns_at_once)
{
    struct event_loop *el = new_loop();
    struct trace t = {.stop_after = 100};
    el_add_timer(el, 60000, record, &t);
    el_stop(el);
    uint64_t start = el_now_ms();
    cr_assert_eq(el_run(el), 0);
    /* Far below the timer's minute, far above any stall of a loaded machine. */
    cr_assert_lt(el_now_ms() - start, 10000);
    cr_assert_eq(t.n, 0);
    el_free(el);
}

static void on_alarm(int sig)
{
    (void)sig;
}

Test(event_loop, signal_during_sleep_is_not_an_error)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm; /* no SA_RESTART: epoll_wait sees EINTR */
    cr_assert_eq(sigaction(SIGALRM, &sa, NULL), 0);
    struct event_loop *el = new_loop();
    struct trace t = {.stop_after = 1};
    /* Read before the timer is armed: it is due 120 ms after its own reading of the
     * clock, and a reading taken after that one could be a millisecond later. */
    uint64_t start = el_now_ms();
    el_add_timer(el, 120, record, &t);
    struct itimerval it = {.it_value = {.tv_sec = 0, .tv_usec = 20 * 1000}};
    cr_assert_eq(setitimer(ITIMER_REAL, &it, NULL), 0);
    cr_assert_eq(el_run(el), 0);
    cr_assert_eq(t.n, 1);
    cr_assert_geq(el_now_ms() - start, 120);
    el_free(el);
}

Test(event_loop, clock_is_monotonic)
{
    uint64_t a = el_now_ms();
    usleep(5000);
    uint64_t b = el_now_ms();
    cr_assert_geq(b, a + 4);
}
