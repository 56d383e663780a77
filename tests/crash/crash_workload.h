/* crash_workload.h: the fixed storage workload the crash-point explorer cuts the power
 * under: appends in batches, segments rolling over, a conflict truncation, a snapshot
 * with compaction, a snapshot received in chunks and installed, more appends. */
#ifndef CRASH_WORKLOAD_H
#define CRASH_WORKLOAD_H

#include "crash_oracle.h"

#define CRASH_DIR "/peer"

/* The workload comes in variants that stress different paths. */
struct crash_variant {
    const char *name;
    uint64_t segment_bytes;
    bool deep_conflict; /* the conflict truncation reaches back past the last synced batch */
};
#define CRASH_VARIANTS 2
extern const struct crash_variant crash_variants[CRASH_VARIANTS];

/* Runs the workload on the current model file system, keeping o up to date around each
 * call. 0, or -1 with a message when a storage call fails (a bug: nothing fails here). */
int crash_workload_run(const struct crash_variant *v, struct oracle *o, char *err, size_t errlen);

#endif
