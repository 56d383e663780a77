/* diff.h: a line diff by longest common subsequence. */
#ifndef SCENARIO_DIFF_H
#define SCENARIO_DIFF_H

#include <stddef.h>

#include "tests/scenario/text.h"

/* Appends to t: "    " common lines, "  - " only in a (expected), "  + " only in b. */
void diff_lines(struct text *t, char **a, size_t na, char **b, size_t nb);

#endif
