/* runner.h: runs one scenario file (docs/SCENARIOS.md). */
#ifndef SCENARIO_RUNNER_H
#define SCENARIO_RUNNER_H

#include <stdbool.h>

#include "tests/scenario/text.h"

/* Where the files are: $RAFT_SCENARIO_DIR, or tests/scenarios. */
const char *scenario_dir(void);
/* Runs <scenario_dir>/<name>.txt; on failure fills err (possibly many lines) and
 * returns -1. With rewrite, output mismatches are written back to the file instead. */
int run_file(const char *name, bool rewrite, struct text *err);

#endif
