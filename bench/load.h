/* load.h: closed-loop clients (one request outstanding each) driven by one epoll loop. */
#ifndef BENCH_LOAD_H
#define BENCH_LOAD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "bench/latency.h"
#include "bench/mix.h"

#define LOAD_MAX_TARGETS 16
#define LOAD_MAX_CLIENTS 1024 /* well under the state machine's 4096 sessions */

/* One peer the clients may talk to. */
struct load_target {
    char name[64];  /* the peer's name, as redirects spell it */
    char host[256]; /* numeric address or host name */
    int port;
};

/* Shared with a controlling thread (the failover mode): written by the load loop,
 * read by the controller, except stop, which goes the other way. */
struct load_probe {
    /* The latest command answered: (bench_now_us() << 8) | index of the peer that
     * answered, packed so a reader never pairs one answer's time with another's peer. */
    _Atomic uint64_t last_ok;
    _Atomic uint64_t ok_count; /* commands answered so far */
    _Atomic int stop;          /* set to 1 to end a run that has no duration */
};

struct load_options {
    const struct load_target *targets;
    int n_targets;         /* 1..LOAD_MAX_TARGETS */
    int first_target;      /* index every client connects to first (the leader, if known) */
    int clients;           /* 1..LOAD_MAX_CLIENTS */
    uint64_t warmup_us;    /* commands started earlier are not counted */
    uint64_t duration_us;  /* measured window after the warmup; 0 = until probe->stop */
    const struct mix *mix; /* what to send */
    unsigned keys;         /* variables k0..k<keys-1> */
    uint64_t seed;
    int request_timeout_ms;   /* no answer by then: drop the connection, retry elsewhere */
    int retry_delay_ms;       /* pause before retrying after unavailable or no leader */
    int suspect_ms;           /* a peer that timed out or refused is not followed for this long */
    const char *id_prefix;    /* client ids are "<prefix>-<n>" ("<prefix>-<n>.<k>" after k
                                 session_expired answers); at most 40 bytes of [!-~] */
    struct load_probe *probe; /* may be NULL */
    /* Fill mode, when non-zero: instead of the mix, "k<i> set <i>" for i = 0..fill-1, each
     * once, in order across the clients, and the run ends when every one is answered
     * (duration_us may then be 0 without a probe). */
    unsigned fill;
};

struct load_result {
    uint64_t ops;         /* commands answered inside the window (ok or a definite failure) */
    uint64_t ok;          /* ... of which succeeded */
    uint64_t app_errors;  /* ... answered overflow, cas_failed or div_by_zero (valid answers) */
    uint64_t bad;         /* ... answered bad_request, bad_command or anything unexpected */
    uint64_t redirects;   /* not_leader answers followed (whole run) */
    uint64_t unavailable; /* unavailable answers retried (whole run) */
    uint64_t timeouts;    /* requests given up after request_timeout_ms (whole run) */
    uint64_t conn_lost;   /* connections refused, reset or closed by a peer (whole run) */
    uint64_t window_us;   /* length of the measured window */
    struct latency all;   /* per command, first send to answer, retries included */
    struct latency writes;
    struct latency reads;
    char first_bad[320]; /* the first unexpected answer, for the report */
};

/* Runs the clients. 0 with r filled (release with load_result_free), or -1 with err
 * when the run could not be set up. Network trouble during the run is not an error:
 * it is counted in r. */
int load_run(const struct load_options *o, struct load_result *r, char *err, size_t errlen);
void load_result_free(struct load_result *r);

#endif
