/* crash_main.c: raft_crash, the crash-point explorer (docs/TESTING.md).
 *
 * Runs the real storage code (raft_peer/storage/storage*.c, snapshot_store.c) over the model
 * file system of tests/sim/sim_fs.h through a fixed workload, and before every call
 * that changes the file system, and once after the last, it cuts: on a copy of the file
 * system it kills the process, then either keeps the page cache (kill -9), drops every
 * unsynced byte and entry, or keeps a seeded subset of them; recovers as the daemon
 * boots; checks every acknowledged promise; then cuts the power once more and checks
 * that what the first recovery loaded (which the core counts as persisted) survived.
 *
 *   raft_crash [--subsets K]            the real storage: every state must pass
 *   raft_crash --mutants [--subsets K]  each deliberately broken storage must be caught
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crash_oracle.h"
#include "crash_workload.h"
#include "raft_peer/storage/snapshot_store.h"
#include "raft_peer/storage/storage.h"
#include "raft_peer/storage/storage_internal.h"
#include "tests/sim/sim_fs.h"

enum { OWNER_WORKLOAD = 1, OWNER_RECOVERY = 2 };

struct explorer {
    struct sim_fs *fs;
    struct oracle o;
    int subsets; /* seeded random cuts per point, besides kill -9 and drop-all */
    const struct crash_variant *variant;
    uint64_t points, states, failures;
    char first_failure[600];
};

static void recover(const struct crash_variant *v, struct recovered *r, struct storage **out)
{
    struct snapshot_meta m;
    uint8_t *data = NULL;
    struct storage_boot boot;
    memset(r, 0, sizeof *r);
    *out = NULL;
    if (snapshot_load(CRASH_DIR, &m, &data, r->err, sizeof r->err) != 0) {
        r->rc = -1;
        return;
    }
    free(data);
    r->snap = (struct snap_id){m.index, m.term, m.crc};
    r->rc =
        storage_open_after_snapshot(CRASH_DIR, m.index, m.term, out, &boot, r->err, sizeof r->err);
    if (r->rc != STORAGE_OK)
        return;
    /* The same segment size as the workload's, as a restarted daemon keeps its config:
     * a segment started after recovery is preallocated at that size. */
    storage_test_set_segment_bytes(*out, v->segment_bytes);
    snprintf(r->notice, sizeof r->notice, "%s", boot.notice);
    r->term = boot.term;
    r->vote = boot.voted_for;
    r->first = boot.first_index;
    r->last = boot.first_index + boot.n_entries - 1;
    if (r->last > ORACLE_MAX_INDEX) {
        snprintf(r->err, sizeof r->err, "recovered a log up to %" PRIu64 ", never written",
                 r->last);
        r->rc = -1;
    } else {
        for (size_t i = 0; i < boot.n_entries; i++)
            r->e[r->first + i] =
                (struct entry_id){boot.entries[i].term, oracle_entry_crc(&boot.entries[i])};
    }
    storage_boot_free(&boot);
}

/* The recovered peer goes on: one more entry after what it loaded, acknowledged once
 * synced, so the next check also covers appending after a repaired tail. r gains it.
 * Empty string, or what failed. */
static void append_one(struct storage *s, struct recovered *r, char *why, size_t len)
{
    char err[256];
    uint8_t data[40];
    why[0] = '\0';
    raft_index next = r->last >= r->first ? r->last + 1 : r->snap.index + 1;
    if (next > ORACLE_MAX_INDEX)
        return;
    raft_term prev = r->last >= r->first ? r->e[r->last].term : r->snap.term;
    raft_term term = r->term > prev ? r->term : prev;
    if (term == 0)
        term = 1;
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(next * 11 + i);
    struct raft_entry e = {
        .term = term, .type = RAFT_ENTRY_COMMAND, .data = data, .len = sizeof data};
    if ((term > r->term && storage_save_hard_state(s, term, RAFT_NOBODY, err, sizeof err) != 0) ||
        storage_append(s, next, &e, 1, err, sizeof err) != 0 ||
        storage_sync(s, err, sizeof err) != 0) {
        snprintf(why, len, "appending after recovery failed: %s", err);
        return;
    }
    if (term > r->term) {
        r->term = term;
        r->vote = RAFT_NOBODY;
    }
    if (r->last < r->first)
        r->first = next;
    r->last = next;
    r->e[next] = (struct entry_id){term, oracle_entry_crc(&e)};
}

/* One crash state: a copy of the file system as the cut leaves it, recovered twice. */
static void explore_state(struct explorer *x, const char *op, const char *cut, bool power,
                          enum sim_fs_cut how, uint64_t seed)
{
    char why[400];
    struct recovered r1, r2;
    struct storage *s;
    struct sim_fs *c = sim_fs_clone(x->fs);

    x->states++;
    sim_fs_kill(c, OWNER_WORKLOAD);
    if (power)
        sim_fs_power_cut(c, "/", how, seed);
    sim_fs_use(c);
    sim_fs_set_owner(c, OWNER_RECOVERY);
    recover(x->variant, &r1, &s);
    oracle_check(&x->o, &r1, why, sizeof why);
    if (why[0] == '\0')
        append_one(s, &r1, why, sizeof why);
    if (why[0] == '\0') {
        /* The recovered peer would now run on what it loaded: cut again. */
        storage_test_crash(s);
        sim_fs_kill(c, OWNER_RECOVERY);
        sim_fs_power_cut(c, "/", SIM_FS_CUT_DROP_ALL, 0);
        recover(x->variant, &r2, &s);
        oracle_check_again(&r1, &r2, why, sizeof why);
    }
    storage_test_crash(s);
    sim_fs_use(x->fs);
    sim_fs_free(c);
    if (why[0] != '\0') {
        if (x->failures++ == 0)
            snprintf(x->first_failure, sizeof x->first_failure,
                     "state %" PRIu64 " (%s workload, before call %" PRIu64 ", %s; %s): %s",
                     x->states, x->variant->name, x->points, op, cut, why);
    }
}

static void cut_here(void *ctx, const char *op)
{
    struct explorer *x = ctx;
    char cut[64];
    x->points++;
    explore_state(x, op, "kill -9, page cache kept", false, SIM_FS_CUT_DROP_ALL, 0);
    explore_state(x, op, "power cut, nothing unsynced kept", true, SIM_FS_CUT_DROP_ALL, 0);
    for (int k = 0; k < x->subsets; k++) {
        uint64_t seed = x->points * 1000003u + (uint64_t)k;
        snprintf(cut, sizeof cut, "power cut, unsynced subset seed %" PRIu64, seed);
        explore_state(x, op, cut, true, SIM_FS_CUT_RANDOM, seed);
    }
}

/* Runs one variant of the workload under every cut; 0 when it completed. */
static int explore_variant(struct explorer *x, const struct crash_variant *v)
{
    char err[256];
    memset(&x->o, 0, sizeof x->o);
    x->variant = v;
    x->fs = sim_fs_new();
    sim_fs_use(x->fs);
    sim_fs_set_owner(x->fs, OWNER_WORKLOAD);
    sim_fs_set_hook(x->fs, cut_here, x);
    int rc = crash_workload_run(v, &x->o, err, sizeof err);
    sim_fs_set_hook(x->fs, NULL, NULL);
    if (rc == 0)
        cut_here(x, "after the last call");
    else
        fprintf(stderr, "raft_crash: the %s workload failed: %s\n", v->name, err);
    sim_fs_use(NULL);
    sim_fs_free(x->fs);
    return rc;
}

/* Every variant; states, points and failures add up over them. */
static int explore(struct explorer *x)
{
    x->points = x->states = x->failures = 0;
    x->first_failure[0] = '\0';
    for (int i = 0; i < CRASH_VARIANTS; i++)
        if (explore_variant(x, &crash_variants[i]) != 0)
            return -1;
    return 0;
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: raft_crash [--mutants] [--subsets K]\n");
}

int main(int argc, char **argv)
{
    struct explorer x = {.subsets = 50};
    bool run_mutants = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--mutants") == 0) {
            run_mutants = true;
        } else if (strcmp(argv[i], "--subsets") == 0 && i + 1 < argc) {
            x.subsets = atoi(argv[++i]);
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (!run_mutants) {
        storage_mutations = 0;
        if (explore(&x) != 0)
            return 1;
        printf("raft_crash: %" PRIu64 " crash states at %" PRIu64
               " cut points (kill -9, drop-all and %d unsynced subsets each) in %.2f s: %s\n",
               x.states, x.points, x.subsets, seconds_since(&t0),
               x.failures ? "FAILED" : "every promise kept");
        if (x.failures) {
            printf("raft_crash: %" PRIu64 " states broke a promise; first: %s\n", x.failures,
                   x.first_failure);
            return 1;
        }
        return 0;
    }
    int missed = 0;
    for (size_t m = 0; m < STORAGE_MUTANTS; m++) {
        storage_mutations = storage_mutants[m].bit;
        if (explore(&x) != 0)
            return 1;
        if (x.failures == 0) {
            missed++;
            printf("raft_crash: mutant %s NOT caught in %" PRIu64 " states\n",
                   storage_mutants[m].name, x.states);
        } else {
            printf("raft_crash: mutant %s caught: %" PRIu64 " of %" PRIu64
                   " states broke a promise; first at %s\n",
                   storage_mutants[m].name, x.failures, x.states, x.first_failure);
        }
    }
    storage_mutations = 0;
    printf("raft_crash: %d of %d mutants caught in %.2f s\n", STORAGE_MUTANTS - missed,
           STORAGE_MUTANTS, seconds_since(&t0));
    return missed ? 1 : 0;
}
