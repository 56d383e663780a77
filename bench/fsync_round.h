/* fsync_round.h: the disk's share of one replicated write when every peer's log is on
 * the same disk. A 1-client write needs a majority of the peers to write and fdatasync
 * the same entry, and on one disk those syncs queue behind each other's cache flushes:
 * no implementation can commit before the quorum-th of them returns. This measures that
 * moment with the most favourable timing there is, every writer starting together. */
#ifndef BENCH_FSYNC_ROUND_H
#define BENCH_FSYNC_ROUND_H

#include <stddef.h>
#include <stdint.h>

#include "bench/latency.h"

/* Runs up to `samples` rounds (stopping after budget_us) of `writers` threads, each
 * overwriting a small record into its own zeroed file in dir and syncing it; adds to lat
 * the time from the round's first start to its quorum-th sync returning, in us.
 * 0, or -1 with err. */
int fsync_round_measure(const char *dir, int writers, int quorum, int samples, uint64_t budget_us,
                        struct latency *lat, char *err, size_t errlen);

#endif
