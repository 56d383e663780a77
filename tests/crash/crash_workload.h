/* crash_workload.h: the fixed storage workload the crash-point explorer cuts the power
 * under: appends in batches, segments rolling over, a conflict truncation, a snapshot
 * with compaction, a snapshot received in chunks and installed, more appends. */
#ifndef CRASH_WORKLOAD_H
#define CRASH_WORKLOAD_H

#include "crash_oracle.h"

#define CRASH_DIR "/peer"

/* Runs the workload on the current model file system, keeping o up to date around each
 * call. 0, or -1 with a message when a storage call fails (a bug: nothing fails here). */
int crash_workload_run(struct oracle *o, char *err, size_t errlen);

#endif
