/* sim_main.c: raft_sim's command line: one seed, many seeds over worker processes, or the mutant
 * hunt. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "raft_peer/storage/storage_internal.h"
#include "sim.h"

#define SIM_MAX_JOBS 64
/* Wall-clock bound on one seed: a core that loops forever must not hang the suite. */
#define SIM_SEED_WALL_SECONDS 120
/* A seed's child exits 0 when it passed and with this when it failed and said why;
 * anything else (a signal, a sanitizer's exit 1) means it died before reporting. */
#define SIM_EXIT_FAILED 42

static const struct {
    const char *name;
    unsigned bit;
} mutations[] = {
    {"vote-ignores-log", RAFT_MUTATE_VOTE_IGNORES_LOG},
    {"commit-old-term", RAFT_MUTATE_COMMIT_OLD_TERM},
    {"vote-before-persist", RAFT_MUTATE_VOTE_BEFORE_PERSIST},
    {"ack-before-persist", RAFT_MUTATE_ACK_BEFORE_PERSIST},
    {"no-truncate", RAFT_MUTATE_NO_TRUNCATE},
    {"config-on-commit", RAFT_MUTATE_CONFIG_ON_COMMIT},
    {"two-changes", RAFT_MUTATE_TWO_CHANGES},
    {"change-before-own-term", RAFT_MUTATE_CHANGE_BEFORE_OWN_TERM},
    {"vote-from-non-member", RAFT_MUTATE_VOTE_FROM_NON_MEMBER},
    {"snapshot-stale-term", RAFT_MUTATE_SNAPSHOT_STALE_TERM},
    {"read-without-round", RAFT_MUTATE_READ_WITHOUT_ROUND},
};
#define N_MUTATIONS (sizeof(mutations) / sizeof(mutations[0]))

/* Deliberately broken storage (raft_peer/storage/storage_internal.h): the simulator links the
 * storage built with -DSTORAGE_MUTATIONS, which defines storage_mutants and the switch. */
static int storage_mutation_bit(const char *name, unsigned *bit)
{
    for (size_t i = 0; i < STORAGE_MUTANTS; i++) {
        if (strcmp(name, storage_mutants[i].name) == 0) {
            *bit = storage_mutants[i].bit;
            return 0;
        }
    }
    return -1;
}

struct cli {
    uint64_t seed;
    bool one_seed;
    uint64_t seeds;
    uint64_t first;
    int jobs;
    bool verbose;
    bool mutants;
    uint64_t max_seeds;
    struct sim_options opt;
};

/* Shared by the parent, its workers and their per-seed children (one mmap). */
struct shared {
    pthread_mutex_t out; /* one failure report at a time on stdout */
    atomic_uint_least64_t passed;
    atomic_uint_least64_t failed;
    atomic_uint_least64_t min_fail; /* stop-at-first mode: smallest failing seed */
    uint64_t fail_seed[SIM_MAX_JOBS];
    char reason[SIM_MAX_JOBS][160];
};

static void usage(FILE *out)
{
    fprintf(out, "usage: raft_sim [--seed S | --seeds N [--first S]] [--peers 3|5|7] [--jobs J]\n"
                 "                [--mutation NAME] [--storage-mutation NAME] [--weak] [--pace]\n"
                 "                [--verbose]\n"
                 "       raft_sim --mutants [--max-seeds N] [--jobs J]\n"
                 "Runs the real Raft core in a deterministic simulated cluster and checks its\n"
                 "safety and liveness; every failing seed replays exactly with --seed.\n"
                 "  --seed S       run seed S only (with --verbose: print every step)\n"
                 "  --seeds N      run seeds first..first+N-1 (default first: 1)\n"
                 "  --peers P      cluster size for every seed (default: 3, 5, 7 in turn)\n"
                 "  --jobs J       worker processes (default 1)\n"
                 "  --mutation M   run a deliberately broken core: ");
    for (size_t i = 0; i < N_MUTATIONS; i++)
        fprintf(out, "%s%s", mutations[i].name, i + 1 < N_MUTATIONS ? ", " : "\n");
    fprintf(out, "  --storage-mutation M  run over deliberately broken storage: ");
    for (size_t i = 0; i < STORAGE_MUTANTS; i++)
        fprintf(out, "%s%s", storage_mutants[i].name, i + 1 < STORAGE_MUTANTS ? ", " : "\n");
    fprintf(out, "  --mutants      for each mutation, run seeds until one fails; exit 1 if one\n"
                 "                 survives --max-seeds seeds (default 5000)\n"
                 "  --weak         drop the direct checks (persist before reply, leader commit\n"
                 "                 rule, committed on a majority of disks): end-to-end only\n"
                 "  --pace         the faults also change the nodes' timing at runtime: one node\n"
                 "                 or all at 1, 2, 3 or 5 times it, fast failover on or off\n"
                 "  --verbose      one line per passing seed as well\n");
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-')
        return -1;
    *out = v;
    return 0;
}

static int mutation_bit(const char *name, unsigned *bit)
{
    for (size_t i = 0; i < N_MUTATIONS; i++)
        if (strcmp(name, mutations[i].name) == 0) {
            *bit = mutations[i].bit;
            return 0;
        }
    return -1;
}

static int parse_args(int argc, char **argv, struct cli *c)
{
    static const struct option longopts[] = {
        {"seed", required_argument, NULL, 's'},
        {"seeds", required_argument, NULL, 'n'},
        {"first", required_argument, NULL, 'f'},
        {"peers", required_argument, NULL, 'p'},
        {"jobs", required_argument, NULL, 'j'},
        {"verbose", no_argument, NULL, 'v'},
        {"mutation", required_argument, NULL, 'm'},
        {"mutants", no_argument, NULL, 'M'},
        {"max-seeds", required_argument, NULL, 'x'},
        {"weak", no_argument, NULL, 'w'},
        {"storage-mutation", required_argument, NULL, 'S'},
        {"pace", no_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(c, 0, sizeof(*c));
    c->seeds = 1;
    c->first = 1;
    c->jobs = 1;
    c->max_seeds = 5000;
    int opt;
    uint64_t v;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case 's':
            if (parse_u64(optarg, &c->seed) != 0)
                return -1;
            c->one_seed = true;
            break;
        case 'n':
            if (parse_u64(optarg, &c->seeds) != 0 || c->seeds == 0)
                return -1;
            break;
        case 'f':
            if (parse_u64(optarg, &c->first) != 0)
                return -1;
            break;
        case 'p':
            if (parse_u64(optarg, &v) != 0 || (v != 3 && v != 5 && v != 7))
                return -1;
            c->opt.peers = (int)v;
            break;
        case 'j':
            if (parse_u64(optarg, &v) != 0 || v < 1 || v > SIM_MAX_JOBS)
                return -1;
            c->jobs = (int)v;
            break;
        case 'v':
            c->verbose = true;
            break;
        case 'm':
            if (mutation_bit(optarg, &c->opt.mutations) != 0) {
                fprintf(stderr, "raft_sim: unknown mutation '%s'\n", optarg);
                return -1;
            }
            c->opt.mutation_name = optarg;
            break;
        case 'M':
            c->mutants = true;
            break;
        case 'x':
            if (parse_u64(optarg, &c->max_seeds) != 0 || c->max_seeds == 0)
                return -1;
            break;
        case 'w':
            c->opt.weak = true;
            break;
        case 'P':
            c->opt.pace = true;
            break;
        case 'S':
            if (storage_mutation_bit(optarg, &storage_mutations) != 0) {
                fprintf(stderr, "raft_sim: unknown storage mutation '%s'\n", optarg);
                return -1;
            }
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            return -1;
        }
    }
    if (optind != argc)
        return -1;
    return 0;
}

/* Runs one seed in this process. Returns 0 when it passed. */
static int run_one(uint64_t seed, const struct sim_options *opt, bool verbose, FILE *out,
                   char *reason, size_t reason_len)
{
    struct sim *s = sim_new(seed, opt);
    int rc = sim_run(s);
    sim_report(s, out, verbose);
    if (reason && rc != 0)
        snprintf(reason, reason_len, "%s", s->what);
    sim_free(s);
    return rc == 0 ? 0 : 1;
}

static void write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t k = write(fd, buf, len);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return;
        buf += k;
        len -= (size_t)k;
    }
}

static void locked_print(struct shared *sh, const char *buf, size_t len)
{
    if (len == 0)
        return;
    int rc = pthread_mutex_lock(&sh->out);
    if (rc == EOWNERDEAD) /* a child died printing: the text is torn, the lock is fine */
        pthread_mutex_consistent(&sh->out);
    write_all(STDOUT_FILENO, buf, len);
    pthread_mutex_unlock(&sh->out);
}

/* The per-seed child: runs the seed and prints its report in one piece. */
static void seed_child(const struct cli *c, const struct sim_options *opt, uint64_t seed,
                       struct shared *sh, int worker, bool quiet)
{
    alarm(SIM_SEED_WALL_SECONDS);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (!out)
        _exit(3);
    char reason[160] = "";
    int rc = run_one(seed, opt, c->verbose, out, reason, sizeof(reason));
    fclose(out);
    if (rc != 0) {
        sh->fail_seed[worker] = seed;
        snprintf(sh->reason[worker], sizeof(sh->reason[worker]), "%s", reason);
    }
    if (!quiet || c->verbose)
        locked_print(sh, text, len);
    free(text);
    _exit(rc == 0 ? 0 : SIM_EXIT_FAILED);
}

static void note_failure(struct shared *sh, uint64_t seed)
{
    uint64_t cur = atomic_load(&sh->min_fail);
    while (seed < cur && !atomic_compare_exchange_weak(&sh->min_fail, &cur, seed))
        ;
}

/* A worker runs every jobs-th seed, each in a child of its own so that a crash or a hang
 * of the core costs one seed, not the run. */
static void worker(const struct cli *c, const struct sim_options *opt, uint64_t first,
                   uint64_t count, int w, int jobs, bool stop_at_first, struct shared *sh)
{
    for (uint64_t i = (uint64_t)w; i < count; i += (uint64_t)jobs) {
        uint64_t seed = first + i;
        if (stop_at_first && seed > atomic_load(&sh->min_fail))
            break;
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0) {
            perror("raft_sim: fork");
            _exit(3);
        }
        if (pid == 0)
            seed_child(c, opt, seed, sh, w, stop_at_first);
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
            atomic_fetch_add(&sh->passed, 1);
            continue;
        }
        atomic_fetch_add(&sh->failed, 1);
        if (!(WIFEXITED(status) && WEXITSTATUS(status) == SIM_EXIT_FAILED)) {
            char line[200];
            int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
            int n =
                snprintf(line, sizeof(line),
                         "seed %" PRIu64 " FAILED: %s (%s %d); replay it with --seed %" PRIu64 "\n",
                         seed, sig == SIGALRM ? "timed out" : "the simulator process died",
                         sig ? "signal" : "exit code", sig ? sig : WEXITSTATUS(status), seed);
            sh->fail_seed[w] = seed;
            snprintf(sh->reason[w], sizeof(sh->reason[w]), "%s",
                     sig == SIGALRM ? "timed out" : "process died");
            if (!stop_at_first || c->verbose)
                locked_print(sh, line, (size_t)n);
        }
        note_failure(sh, seed);
        if (stop_at_first)
            break;
    }
}

static struct shared *shared_new(void)
{
    struct shared *sh =
        mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED) {
        perror("raft_sim: mmap");
        exit(3);
    }
    memset(sh, 0, sizeof(*sh));
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&sh->out, &attr);
    pthread_mutexattr_destroy(&attr);
    atomic_store(&sh->min_fail, UINT64_MAX);
    return sh;
}

/* Runs seeds first..first+count-1 over jobs workers. */
static void run_range(const struct cli *c, const struct sim_options *opt, uint64_t first,
                      uint64_t count, bool stop_at_first, struct shared *sh)
{
    int jobs = c->jobs;
    if ((uint64_t)jobs > count)
        jobs = (int)count;
    pid_t pids[SIM_MAX_JOBS];
    fflush(stdout);
    fflush(stderr);
    for (int w = 0; w < jobs; w++) {
        pids[w] = fork();
        if (pids[w] < 0) {
            perror("raft_sim: fork");
            exit(3);
        }
        if (pids[w] == 0) {
            worker(c, opt, first, count, w, jobs, stop_at_first, sh);
            _exit(0);
        }
    }
    for (int w = 0; w < jobs; w++) {
        int status;
        while (waitpid(pids[w], &status, 0) < 0 && errno == EINTR)
            ;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "raft_sim: worker %d died\n", w);
            atomic_fetch_add(&sh->failed, 1);
        }
    }
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static int run_mutants(const struct cli *c)
{
    int caught = 0, missed = 0;
    struct shared *sh = shared_new();
    for (size_t i = 0; i < N_MUTATIONS; i++) {
        struct sim_options opt = c->opt;
        opt.mutations = mutations[i].bit;
        opt.mutation_name = mutations[i].name;
        atomic_store(&sh->passed, 0);
        atomic_store(&sh->failed, 0);
        atomic_store(&sh->min_fail, UINT64_MAX);
        memset(sh->fail_seed, 0, sizeof(sh->fail_seed));
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        run_range(c, &opt, c->first, c->max_seeds, true, sh);
        uint64_t s = atomic_load(&sh->min_fail);
        if (s == UINT64_MAX) {
            printf("mutation %s NOT caught within %" PRIu64 " seeds (%.1f s)\n", mutations[i].name,
                   c->max_seeds, seconds_since(&t0));
            missed++;
            continue;
        }
        const char *why = "?";
        for (int w = 0; w < SIM_MAX_JOBS; w++)
            if (sh->fail_seed[w] == s)
                why = sh->reason[w];
        /* A seed that fails without the mutation too proves nothing about it. */
        struct sim_options plain = c->opt;
        plain.mutations = 0;
        plain.mutation_name = NULL;
        struct shared *ps = shared_new();
        struct cli one = *c;
        one.verbose = false;
        run_range(&one, &plain, s, 1, true, ps);
        char plain_why[160];
        snprintf(plain_why, sizeof(plain_why), "%s", ps->reason[0]);
        /* The same verdict without the mutation: the seed found something else. */
        bool plain_fails = atomic_load(&ps->failed) > 0 && strcmp(plain_why, why) == 0;
        munmap(ps, sizeof(*ps));
        printf("mutation %s caught after %" PRIu64 " seeds (seed %" PRIu64 ": %s) [%.1f s]%s%s%s\n",
               mutations[i].name, s - c->first + 1, s, why, seconds_since(&t0),
               plain_fails ? " BUT the seed fails the same way without the mutation (" : "",
               plain_fails ? plain_why : "", plain_fails ? ")" : "");
        if (plain_fails) {
            missed++;
            continue;
        }
        caught++;
        fflush(stdout);
    }
    printf("mutants: %d caught, %d not caught\n", caught, missed);
    printf("%d passed, %d failed\n", caught, missed);
    munmap(sh, sizeof(*sh));
    return missed ? 1 : 0;
}

int main(int argc, char **argv)
{
    struct cli c;
    if (parse_args(argc, argv, &c) != 0) {
        usage(stderr);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (c.mutants)
        return run_mutants(&c);
    if (c.one_seed) {
        /* In this process, so a debugger sees everything; --verbose prints every step. */
        struct sim_options opt = c.opt;
        opt.live_trace = c.verbose;
        int rc = run_one(c.seed, &opt, true, stdout, NULL, 0);
        printf("%d passed, %d failed\n", rc == 0, rc != 0);
        return rc;
    }
    struct shared *sh = shared_new();
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    run_range(&c, &c.opt, c.first, c.seeds, false, sh);
    double secs = seconds_since(&t0);
    uint64_t passed = atomic_load(&sh->passed), failed = atomic_load(&sh->failed);
    printf("%" PRIu64 " seeds (%" PRIu64 "..%" PRIu64 ") in %.1f s: %.1f seeds/s with %d jobs\n",
           c.seeds, c.first, c.first + c.seeds - 1, secs, secs > 0 ? (double)c.seeds / secs : 0.0,
           c.jobs);
    printf("%" PRIu64 " passed, %" PRIu64 " failed\n", passed, failed);
    munmap(sh, sizeof(*sh));
    return failed ? 1 : 0;
}
