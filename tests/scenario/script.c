/* script.c: the scenario file's layout: commands at column 0, their expected output
 * indented below, comments and blank lines anywhere. */
#include "tests/scenario/script.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/scenario/bounds.h"
#include "tests/scenario/text.h"

bool is_comment(const char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    return *s == '#';
}

bool is_blank(const char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    return *s == '\0';
}

int tokenize(char *s, char **tok)
{
    int n = 0;
    char *hash = strchr(s, '#');
    if (hash)
        *hash = '\0';
    for (char *save = NULL, *w = strtok_r(s, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
        if (n == SC_MAX_TOKENS)
            return -1;
        tok[n++] = w;
    }
    return n;
}

int parse_steps(char **lines, size_t nlines, struct step **out, size_t *nout, char *err,
                size_t errlen)
{
    struct step *steps = calloc(nlines + 1, sizeof(*steps));
    if (!steps)
        abort();
    size_t n = 0;
    for (size_t i = 0; i < nlines; i++) {
        rtrim(lines[i]);
        bool indented = lines[i][0] == ' ' || lines[i][0] == '\t';
        if (is_blank(lines[i]) || is_comment(lines[i]) || indented) {
            if (n == 0) {
                if (indented && !is_comment(lines[i]) && !is_blank(lines[i])) {
                    snprintf(err, errlen, "line %zu: expected output before any command", i + 1);
                    free(steps);
                    return -1;
                }
                continue;
            }
            struct step *s = &steps[n - 1];
            bool output = indented && !is_comment(lines[i]) && !is_blank(lines[i]);
            size_t **arr = output ? &s->expect : &s->other;
            size_t *cnt = output ? &s->n_expect : &s->n_other;
            size_t *grown = realloc(*arr, (*cnt + 1) * sizeof(**arr));
            if (!grown)
                abort();
            *arr = grown;
            (*arr)[(*cnt)++] = i;
            continue;
        }
        steps[n++].line = i;
    }
    *out = steps;
    *nout = n;
    return 0;
}

void steps_free(struct step *steps, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(steps[i].expect);
        free(steps[i].other);
    }
    free(steps);
}
