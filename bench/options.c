/* options.c: see options.h. */
#include "bench/options.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/load.h"

static const char *const mode_names[] = {"run",  "failover",     "limits",   "memory", "restart",
                                         "etcd", "statemachine", "follower", "scale",  "floor"};
/* Every mode has its name: a missing one would be a NULL compared at parse time. */
_Static_assert(sizeof(mode_names) / sizeof(mode_names[0]) == MODE_COUNT, "mode_names");

const char *options_mode_name(enum bench_mode m)
{
    return m >= MODE_RUN && m < MODE_COUNT ? mode_names[m] : "?";
}

void options_usage(FILE *out)
{
    fprintf(
        out,
        "usage: raft_bench [MODE] [options]\n"
        "modes:\n"
        "  run        closed-loop clients for T seconds: ops/s, latency p50/p99/p99.9 (default)\n"
        "  failover   kill the leader K times while a client writes: time to a new leader\n"
        "             and to the first write that succeeds again\n"
        "  limits     this machine's floor: storage append+fsync, TCP loopback round trip\n"
        "  memory     resident memory (VmRSS) of idle peers\n"
        "  restart    write a big log with the storage module, time raft_peer's restart\n"
        "  etcd       the run mode against our N peers, then against N etcd members started\n"
        "             on loopback (etcd's JSON gateway: put for writes, linearizable range\n"
        "             for gets): both rows and the ratio\n"
        "  statemachine  the state machine alone, in process: time every apply of\n"
        "             --entries new variables, their VmRSS, snapshot encode and decode\n"
        "  follower   C clients write while a follower is SIGSTOPped for T seconds: the\n"
        "             leader's VmRSS growth; then catch-up after SIGCONT, and after a\n"
        "             SIGKILL and restart with T seconds of writes missed\n"
        "  scale      two started 3-peer clusters, C clients: one over 1,000 variables, one\n"
        "             filled to --entries variables and written over all of them, in\n"
        "             windows large, small, small, large of T/2 s each; latency, elections,\n"
        "             unavailable answers and memory of each, against the targets\n"
        "  floor      the 1-client write p50 of N started peers against its floor (2 loopback\n"
        "             round trips + 1 fdatasync into a preallocated file), measured just\n"
        "             before and just after the run\n"
        "options:\n"
        "  -n, --peers N          cluster size (default 3)\n"
        "  -c, --config FILE      use the running cluster of FILE's first N peers (run only);\n"
        "                         without it the bench starts its own in a temp dir\n"
        "  -C, --clients C        closed-loop clients, 1..%d (default 1)\n"
        "  -T, --time S           measured seconds (default 10)\n"
        "  --warmup S             seconds before measuring (default 1)\n"
        "  --mix SPEC             op=weight,... of set add sub mul div cas get del\n"
        "                         (default add=90,get=10)\n"
        "  --keys K               variables used (default 1000)\n"
        "  --seed X               PRNG seed (default: from the clock; kept in the JSON)\n"
        "  --log-level L          log level of started peers (default warn)\n"
        "  --timeouts MIN-MAX     election timeouts of started peers, ms (default 150-300)\n"
        "  --heartbeat MS         heartbeat interval of started peers (default 50)\n"
        "  --kills K              failover: leader kills (default 20)\n"
        "  --signal KILL|STOP     failover: crash the leader, or freeze it (default KILL)\n"
        "  --request-timeout MS   retry elsewhere after this silence (default 1000; 50 in\n"
        "                         failover)\n"
        "  --retry-delay MS       pause before retrying (default 2)\n"
        "  --entries N            restart: log entries to write; statemachine, scale:\n"
        "                         variables\n"
        "                         (default 1000000)\n"
        "  --restarts N           restart: timed starts (default 3)\n"
        "  --samples N            limits: fsyncs and round trips (default 2000)\n"
        "  --json                 print JSON instead of the table\n"
        "  --json-file FILE       also append the result as one JSON line to FILE\n"
        "  --no-header            table rows without the header line\n"
        "  --label TEXT           a name carried into the report\n"
        "  --raft KEY=VALUE       one more [raft] line for the peers the bench starts\n"
        "                         (e.g. snapshot_threshold=100000); may be repeated\n"
        "  --etcd PATH            etcd mode: the etcd program (default $ETCD_BIN, else etcd\n"
        "                         in $PATH)\n"
        "  -h, --help             this help\n",
        LOAD_MAX_CLIENTS);
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    if (!s || !*s || *s == '+' || *s == ' ')
        return -1;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_seconds(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    if (!s || !*s)
        return -1;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v) || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_timeouts(const char *s, int *min, int *max)
{
    const char *dash = strchr(s, '-');
    if (!dash || dash == s)
        return -1;
    char first[16];
    size_t len = (size_t)(dash - s);
    if (len >= sizeof(first))
        return -1;
    memcpy(first, s, len);
    first[len] = 0;
    long a, b;
    if (parse_long(first, 1, 60000, &a) != 0 || parse_long(dash + 1, 1, 60000, &b) != 0 || a > b)
        return -1;
    *min = (int)a;
    *max = (int)b;
    return 0;
}

static void defaults(struct bench_options *o)
{
    memset(o, 0, sizeof(*o));
    o->mode = MODE_RUN;
    o->peers = 3;
    o->clients = 1;
    o->seconds = 10;
    o->warmup = 1;
    o->keys = 1000;
    o->seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 16);
    o->log_level = "warn";
    o->timeout_min = 150;
    o->timeout_max = 300;
    o->heartbeat = 50;
    o->kills = 20;
    o->signal = SIGKILL;
    o->request_timeout_ms = -1; /* mode-dependent default, set after parsing */
    o->retry_delay_ms = 2;
    o->entries = 1000000;
    o->restarts = 3;
    o->samples = 2000;
}

#define BAD(...)                                                                                   \
    do {                                                                                           \
        snprintf(err, errlen, __VA_ARGS__);                                                        \
        return -1;                                                                                 \
    } while (0)

int options_parse(int argc, char **argv, struct bench_options *o, char *err, size_t errlen)
{
    enum {
        OPT_WARMUP = 256,
        OPT_MIX,
        OPT_KEYS,
        OPT_SEED,
        OPT_LOG_LEVEL,
        OPT_TIMEOUTS,
        OPT_HEARTBEAT,
        OPT_KILLS,
        OPT_SIGNAL,
        OPT_REQ_TIMEOUT,
        OPT_RETRY,
        OPT_ENTRIES,
        OPT_RESTARTS,
        OPT_SAMPLES,
        OPT_JSON,
        OPT_JSON_FILE,
        OPT_NO_HEADER,
        OPT_LABEL,
        OPT_ETCD,
        OPT_RAFT,
    };
    static const struct option longopts[] = {
        {"peers", required_argument, NULL, 'n'},
        {"config", required_argument, NULL, 'c'},
        {"clients", required_argument, NULL, 'C'},
        {"time", required_argument, NULL, 'T'},
        {"warmup", required_argument, NULL, OPT_WARMUP},
        {"mix", required_argument, NULL, OPT_MIX},
        {"keys", required_argument, NULL, OPT_KEYS},
        {"seed", required_argument, NULL, OPT_SEED},
        {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
        {"timeouts", required_argument, NULL, OPT_TIMEOUTS},
        {"heartbeat", required_argument, NULL, OPT_HEARTBEAT},
        {"kills", required_argument, NULL, OPT_KILLS},
        {"signal", required_argument, NULL, OPT_SIGNAL},
        {"request-timeout", required_argument, NULL, OPT_REQ_TIMEOUT},
        {"retry-delay", required_argument, NULL, OPT_RETRY},
        {"entries", required_argument, NULL, OPT_ENTRIES},
        {"restarts", required_argument, NULL, OPT_RESTARTS},
        {"samples", required_argument, NULL, OPT_SAMPLES},
        {"json", no_argument, NULL, OPT_JSON},
        {"json-file", required_argument, NULL, OPT_JSON_FILE},
        {"no-header", no_argument, NULL, OPT_NO_HEADER},
        {"label", required_argument, NULL, OPT_LABEL},
        {"etcd", required_argument, NULL, OPT_ETCD},
        {"raft", required_argument, NULL, OPT_RAFT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    defaults(o);
    char mixerr[200];
    if (mix_parse("add=90,get=10", &o->mix, mixerr, sizeof(mixerr)) != 0)
        BAD("internal: default mix: %s", mixerr);
    optind = 1;
    opterr = 0;
    int ch;
    long v;
    while ((ch = getopt_long(argc, argv, ":n:c:C:T:h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'n':
            if (parse_long(optarg, 1, LOAD_MAX_TARGETS, &v) != 0)
                BAD("-n: the cluster size must be 1..%d", LOAD_MAX_TARGETS);
            o->peers = (int)v;
            break;
        case 'c':
            o->config = optarg;
            break;
        case 'C':
            if (parse_long(optarg, 1, LOAD_MAX_CLIENTS, &v) != 0)
                BAD("-C: clients must be 1..%d", LOAD_MAX_CLIENTS);
            o->clients = (int)v;
            break;
        case 'T':
            if (parse_seconds(optarg, 0.1, 86400, &o->seconds) != 0)
                BAD("-T: seconds must be a number from 0.1 to 86400");
            break;
        case OPT_WARMUP:
            if (parse_seconds(optarg, 0, 3600, &o->warmup) != 0)
                BAD("--warmup: seconds must be a number from 0 to 3600");
            break;
        case OPT_MIX:
            if (mix_parse(optarg, &o->mix, err, errlen) != 0)
                return -1;
            break;
        case OPT_KEYS:
            if (parse_long(optarg, 1, 1000000, &v) != 0)
                BAD("--keys must be 1..1000000");
            o->keys = (unsigned)v;
            break;
        case OPT_SEED: {
            char *end;
            errno = 0;
            unsigned long long s = strtoull(optarg, &end, 0);
            if (errno || *end || !*optarg || *optarg == '-')
                BAD("--seed must be an unsigned integer");
            o->seed = s;
            break;
        }
        case OPT_LOG_LEVEL:
            if (strcmp(optarg, "debug") && strcmp(optarg, "info") && strcmp(optarg, "warn") &&
                strcmp(optarg, "error"))
                BAD("--log-level must be debug, info, warn or error");
            o->log_level = optarg;
            break;
        case OPT_TIMEOUTS:
            if (parse_timeouts(optarg, &o->timeout_min, &o->timeout_max) != 0)
                BAD("--timeouts must be MIN-MAX in ms, 1 <= MIN <= MAX <= 60000");
            break;
        case OPT_HEARTBEAT:
            if (parse_long(optarg, 1, 60000, &v) != 0)
                BAD("--heartbeat must be 1..60000 ms");
            o->heartbeat = (int)v;
            break;
        case OPT_KILLS:
            if (parse_long(optarg, 1, 10000, &v) != 0)
                BAD("--kills must be 1..10000");
            o->kills = (int)v;
            break;
        case OPT_SIGNAL:
            if (!strcmp(optarg, "KILL") || !strcmp(optarg, "SIGKILL"))
                o->signal = SIGKILL;
            else if (!strcmp(optarg, "STOP") || !strcmp(optarg, "SIGSTOP"))
                o->signal = SIGSTOP;
            else
                BAD("--signal must be KILL or STOP");
            break;
        case OPT_REQ_TIMEOUT:
            if (parse_long(optarg, 1, 600000, &v) != 0)
                BAD("--request-timeout must be 1..600000 ms");
            o->request_timeout_ms = (int)v;
            break;
        case OPT_RETRY:
            if (parse_long(optarg, 0, 10000, &v) != 0)
                BAD("--retry-delay must be 0..10000 ms");
            o->retry_delay_ms = (int)v;
            break;
        case OPT_ENTRIES:
            if (parse_long(optarg, 1, 100000000, &v) != 0)
                BAD("--entries must be 1..100000000");
            o->entries = v;
            break;
        case OPT_RESTARTS:
            if (parse_long(optarg, 1, 1000, &v) != 0)
                BAD("--restarts must be 1..1000");
            o->restarts = (int)v;
            break;
        case OPT_SAMPLES:
            if (parse_long(optarg, 1, 10000000, &v) != 0)
                BAD("--samples must be 1..10000000");
            o->samples = (int)v;
            break;
        case OPT_JSON:
            o->json = true;
            break;
        case OPT_JSON_FILE:
            o->json_file = optarg;
            break;
        case OPT_NO_HEADER:
            o->no_header = true;
            break;
        case OPT_LABEL:
            if (strlen(optarg) > 200)
                BAD("--label: at most 200 characters");
            o->label = optarg;
            break;
        case OPT_ETCD:
            o->etcd_bin = optarg;
            break;
        case OPT_RAFT: {
            /* KEY=VALUE, as the ini has it; the peers refuse what they do not know. */
            const char *eq = strchr(optarg, '=');
            size_t used = strlen(o->raft_lines);
            if (!eq || eq == optarg || strpbrk(optarg, "\n[]") ||
                used + strlen(optarg) + 2 > sizeof(o->raft_lines))
                BAD("--raft: KEY=VALUE for the [raft] section, at most %zu bytes in all",
                    sizeof(o->raft_lines) - 2);
            snprintf(o->raft_lines + used, sizeof(o->raft_lines) - used, "%s\n", optarg);
            break;
        }
        case 'h':
            return 1;
        case ':':
            BAD("option %s needs a value", argv[optind - 1]);
        default:
            BAD("unknown option %s", argv[optind - 1]);
        }
    }
    if (optind < argc) {
        int m;
        for (m = MODE_RUN; m < MODE_COUNT; m++)
            if (!strcmp(argv[optind], mode_names[m]))
                break;
        if (m >= MODE_COUNT)
            BAD("unknown mode '%s'", argv[optind]);
        o->mode = (enum bench_mode)m;
        optind++;
    }
    if (optind < argc)
        BAD("unexpected argument '%s'", argv[optind]);
    if (o->heartbeat >= o->timeout_min)
        BAD("--heartbeat (%d) must be below the minimum election timeout (%d)", o->heartbeat,
            o->timeout_min);
    if (o->config && o->mode != MODE_RUN)
        BAD("-c is for the run mode only: the other modes start, kill and restart their own "
            "peers");
    if ((o->mode == MODE_FAILOVER || o->mode == MODE_FOLLOWER) && o->peers < 3)
        BAD("%s needs at least 3 peers, so a majority survives the victim", mode_names[o->mode]);
    /* A client cannot hear of a new leader before an election timeout has passed, so
     * in failover it gives up on a silent peer after the minimum one. */
    if (o->request_timeout_ms < 0)
        o->request_timeout_ms = o->mode == MODE_FAILOVER ? o->timeout_min : 1000;
    return 0;
}
