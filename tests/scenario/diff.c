/* diff.c: a line diff of expected and actual output. */
#include "tests/scenario/diff.h"

#include <stdlib.h>
#include <string.h>

/* A line diff by longest common subsequence: `-` only expected, `+` only actual. */
void diff_lines(struct text *t, char **a, size_t na, char **b, size_t nb)
{
    if (na > 2000 || nb > 2000) {
        text_printf(t, "(too long to diff)\n");
        return;
    }
    size_t w = nb + 1;
    size_t *lcs = calloc((na + 1) * w, sizeof(*lcs));
    if (!lcs)
        abort();
    for (size_t i = na; i-- > 0;)
        for (size_t j = nb; j-- > 0;)
            lcs[i * w + j] = strcmp(a[i], b[j]) == 0
                                 ? lcs[(i + 1) * w + j + 1] + 1
                                 : (lcs[(i + 1) * w + j] > lcs[i * w + j + 1] ? lcs[(i + 1) * w + j]
                                                                              : lcs[i * w + j + 1]);
    size_t i = 0, j = 0;
    while (i < na || j < nb) {
        if (i < na && j < nb && strcmp(a[i], b[j]) == 0) {
            text_printf(t, "    %s\n", a[i]);
            i++;
            j++;
        } else if (j < nb && (i == na || lcs[i * w + j + 1] >= lcs[(i + 1) * w + j])) {
            text_printf(t, "  + %s\n", b[j++]);
        } else {
            text_printf(t, "  - %s\n", a[i++]);
        }
    }
    free(lcs);
}
