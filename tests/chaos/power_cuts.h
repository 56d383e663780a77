/* power_cuts.h: the chaos run's power-cut fault. Each peer's data directory is a lazyfs
 * mount (tests/lazyfs/) over a backing directory of its own, so that a peer killed with
 * SIGKILL can also lose what it wrote but did not fsync, as after a real power cut;
 * without it, the page cache would survive every kill. */
#ifndef TESTS_CHAOS_POWER_CUTS_H
#define TESTS_CHAOS_POWER_CUTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tests/chaos/chaos_cluster.h"
#include "tests/lib/lazyfs_mount.h"

struct power_cuts {
    bool enabled;
    char reason[400]; /* why not, when !enabled */
    int n;
    struct lazyfs_mount mount[CHAOS_MAX_PEERS + 1]; /* by peer number */
    char counters[CHAOS_MAX_PEERS + 1][512];        /* each mount's last counters line */
    int cuts;                                       /* of one peer's mount */
};

/* Mounts a lazyfs at every peer's data directory (c->dir/data/peerI, backed by
 * c->dir/disk/peerI) before any peer starts. When lazyfs cannot run (no binary, no
 * /dev/fuse, the mount refused) it returns 0 with enabled false and the reason, unless
 * required: then -1 with err. Call after the namespaces are set up, before threads. */
int power_cuts_setup(struct power_cuts *pc, const struct chaos_cluster *c, bool required, char *err,
                     size_t errlen);

/* Cuts the power of peer i's disk: everything it did not sync is forgotten. The peer
 * must be dead already (killed and reaped). 0 or -1 with err. */
int power_cuts_cut(struct power_cuts *pc, int i, char *err, size_t errlen);

/* Totals over every mount, from the lazyfs counters. */
void power_cuts_totals(const struct power_cuts *pc, uint64_t *pages_dropped,
                       uint64_t *dir_ops_undone, uint64_t *undo_failures);

/* How many lazyfs processes died on their own (a bug in lazyfs: the peer on that mount
 * then saw I/O errors); the first one described in why. */
int power_cuts_deaths(struct power_cuts *pc, char *why, size_t whylen);

/* Unmounts everything; the peers must be dead. Safe to call twice. */
void power_cuts_teardown(struct power_cuts *pc);

#endif
