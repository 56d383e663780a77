/* nemesis.h: the chaos run's fault injector: crashes, power cuts, freezes, partitions of
 * several shapes, leadership transfers and membership changes, one at a time from a seeded
 * schedule, each healed after a while; it also notices peers that die without being asked to.
 * Every fault but the membership ones acts on the members only (docs/CHAOS.md). */
#ifndef TESTS_CHAOS_NEMESIS_H
#define TESTS_CHAOS_NEMESIS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "tests/chaos/chaos_cluster.h"
#include "tests/chaos/netfault.h"
#include "tests/chaos/power_cuts.h"

enum fault_kind {
    FAULT_KILL,          /* SIGKILL one peer (the leader half the time), restart it at heal */
    FAULT_KILL_MINORITY, /* SIGKILL a minority at once */
    FAULT_FREEZE,        /* SIGSTOP one peer (the leader half the time), SIGCONT at heal */
    FAULT_ISOLATE,       /* cut one peer (the leader half the time) from every other */
    FAULT_SPLIT,         /* a random minority | majority partition */
    FAULT_BRIDGE,        /* two halves that only one peer connects (Jepsen's "bridge") */
    FAULT_ONE_WAY,       /* a few links cut in one direction only */
    FAULT_TRANSFER,      /* ask the leader to hand over to a random peer */
    FAULT_POWER_CUT,     /* SIGKILL one peer and drop its unsynced data, restart at heal */
    FAULT_POWER_CUT_ALL, /* SIGKILL every peer, drop everyone's unsynced data, restart all */
    FAULT_RESTART_CUT,   /* SIGKILL one peer, restart it at once on what the page cache kept,
                            then soon SIGKILL it again and drop its unsynced data */
    FAULT_REPLACE,       /* remove a random voter, then add it back with a wiped data directory
                            (a replaced machine), started with --join */
    FAULT_GROW_SHRINK,   /* add up to two spare peers (3 -> 5 voters) one at a time, then
                            remove as many random voters (back to 3) */
    FAULT_KINDS
};

struct nemesis {
    struct chaos_cluster *cluster;
    struct netfault *nf;
    struct power_cuts *power; /* the power-cut faults run only when power->enabled */
    bool membership;          /* whether the membership faults are drawn */
    uint64_t rng;
    uint64_t t0_ms;          /* the run's start, for the timeline */
    FILE *timeline;          /* one line per action; may be NULL */
    int counts[FAULT_KINDS]; /* faults injected, by kind */
    int unexpected_exits;    /* peers that died on their own */
    char first_exit[256];    /* what the first one was */
    /* Membership changes carried through (each add is a learner, then its promotion). */
    int added, removed;
    int member_requests; /* membership requests sent, retries included */
    int removed_exited;  /* removed peers that noticed and exited with status 0 */
    int removed_killed;  /* removed peers still running 2 s later, then killed */
    int leaving;         /* the peer being removed now, 0 if none: its exit is no crash */
};

const char *nemesis_kind_name(enum fault_kind kind);

void nemesis_init(struct nemesis *m, struct chaos_cluster *c, struct netfault *nf,
                  struct power_cuts *power, bool membership, uint64_t seed, FILE *timeline);

/* Waits ms while checking every 50 ms for peers that exited on their own: each member is
 * recorded and restarted; a removed peer that exits with status 0 did what it should. */
void nemesis_watch(struct nemesis *m, int ms);

/* Injects one fault chosen from the seed, holds it for hold_ms (watching), and heals it.
 * 0, or -1 with err when the network or a restart failed. */
int nemesis_round(struct nemesis *m, int hold_ms, char *err, size_t errlen);

/* Every link restored, every frozen peer resumed, every dead member restarted. 0 or -1. */
int nemesis_heal_all(struct nemesis *m, char *err, size_t errlen);

int nemesis_total(const struct nemesis *m);

#endif
