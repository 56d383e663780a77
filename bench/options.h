/* options.h: raft_bench's command line: the mode and every knob, checked before any run. */
#ifndef BENCH_OPTIONS_H
#define BENCH_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "bench/mix.h"

enum bench_mode {
    MODE_RUN,
    MODE_FAILOVER,
    MODE_LIMITS,
    MODE_MEMORY,
    MODE_RESTART,
    MODE_ETCD,
    MODE_STATEMACHINE,
    MODE_FOLLOWER,
    MODE_SCALE,
    MODE_FLOOR,
    MODE_COUNT /* not a mode: how many there are */
};

struct bench_options {
    enum bench_mode mode;
    int peers;             /* cluster size N */
    const char *config;    /* -c FILE: use the running cluster of FILE's first N peers */
    int clients;           /* closed-loop clients */
    double seconds;        /* measured window */
    double warmup;         /* seconds before the window */
    struct mix mix;        /* command mix */
    unsigned keys;         /* variables k0..k<keys-1> */
    uint64_t seed;         /* PRNG seed (printed, so a run can be repeated) */
    const char *log_level; /* for clusters the bench starts */
    int timeout_min;       /* election timeouts of clusters the bench starts (ms) */
    int timeout_max;
    int heartbeat;          /* ms */
    int kills;              /* failover: leader kills */
    int signal;             /* failover: SIGKILL or SIGSTOP */
    int request_timeout_ms; /* a request without answer is retried elsewhere after this */
    int retry_delay_ms;     /* pause before retrying after unavailable / no known leader */
    long entries;           /* restart: log entries written; statemachine, scale: variables */
    int restarts;           /* restart: how many timed starts */
    int samples;            /* limits: fsyncs and round trips measured */
    bool json;              /* print JSON instead of the table */
    const char *json_file;  /* also append one JSON line per run here */
    bool no_header;         /* table rows only, for scripts that print many runs */
    const char *label;      /* free text carried into the report */
    char raft_lines[1024];  /* --raft KEY=VALUE...: more [raft] lines of the started peers' ini */
    const char *etcd_bin;   /* etcd mode: the etcd program (NULL: $ETCD_BIN, else PATH) */
};

/* Fills o from argv. 0 to run, 1 when -h was given (usage printed to stdout),
 * or -1 with a message in err (the caller prints it and the usage, exit 2). */
int options_parse(int argc, char **argv, struct bench_options *o, char *err, size_t errlen);
void options_usage(FILE *out);
const char *options_mode_name(enum bench_mode m);

#endif
