/* runner.c: runs one scenario file: each command against the cluster, its output
 * compared with the lines under it, or written back into the file on request. */
#include "tests/scenario/runner.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/scenario/bounds.h"
#include "tests/scenario/cluster.h"
#include "tests/scenario/commands.h"
#include "tests/scenario/diff.h"
#include "tests/scenario/script.h"

static char *read_file_bounded(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open %s", path);
        return NULL;
    }
    char *buf = malloc(SC_MAX_FILE + 1);
    if (!buf)
        abort();
    size_t n = fread(buf, 1, SC_MAX_FILE + 1, f);
    fclose(f);
    if (n > SC_MAX_FILE) {
        snprintf(err, errlen, "%s is over %u bytes", path, SC_MAX_FILE);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    if (strlen(buf) != n) {
        snprintf(err, errlen, "%s contains a NUL byte", path);
        free(buf);
        return NULL;
    }
    return buf;
}

const char *scenario_dir(void)
{
    const char *env = getenv("RAFT_SCENARIO_DIR");
    return env && *env ? env : "tests/scenarios";
}

/* Writes the file back with each command's actual output under it. Comments and
 * blank lines that followed a command's output stay after it. */
static int write_back(const char *path, char **olines, size_t nlines, const struct step *steps,
                      size_t nsteps, const struct text *outs, size_t ran)
{
    struct text nf = {0};
    size_t first = nsteps ? steps[0].line : nlines;
    for (size_t i = 0; i < first; i++)
        text_printf(&nf, "%s\n", olines[i]);
    for (size_t s = 0; s < nsteps; s++) {
        text_printf(&nf, "%s\n", olines[steps[s].line]);
        for (size_t k = 0; s >= ran && k < steps[s].n_expect; k++)
            text_printf(&nf, "%s\n", olines[steps[s].expect[k]]);
        if (s < ran && outs[s].buf) {
            char *copy = strdup(outs[s].buf);
            if (!copy)
                abort();
            char **ol;
            size_t nol = split_lines(copy, &ol);
            for (size_t k = 0; k < nol; k++)
                text_printf(&nf, "  %s\n", ol[k]);
            free(ol);
            free(copy);
        }
        for (size_t k = 0; k < steps[s].n_other; k++)
            text_printf(&nf, "%s\n", olines[steps[s].other[k]]);
    }
    FILE *f = fopen(path, "wb");
    int rc = f && fwrite(nf.buf ? nf.buf : "", 1, nf.len, f) == nf.len ? 0 : -1;
    if (f && fclose(f) != 0)
        rc = -1;
    text_free(&nf);
    return rc;
}

/* Compares one command's output with the lines expected under it; on a difference
 * returns -1 and, unless rewriting, appends a diff to err. */
static int compare_output(const char *path, const char *cmdline, const struct step *st,
                          char **lines, const struct text *o, bool rewrite, struct text *err)
{
    char *obuf = strdup(o->buf ? o->buf : "");
    if (!obuf)
        abort();
    char **got;
    size_t ngot = split_lines(obuf, &got);
    bool same = ngot == st->n_expect;
    char **want = calloc(st->n_expect + 1, sizeof(*want));
    if (!want)
        abort();
    for (size_t k = 0; k < st->n_expect; k++) {
        want[k] = lines[st->expect[k]];
        while (isspace((unsigned char)*want[k]))
            want[k]++;
        if (same && strcmp(want[k], got[k]) != 0)
            same = false;
    }
    if (!same && !rewrite) {
        text_printf(err, "%s:%zu: output of `%s` differs (- expected, + actual):\n", path,
                    st->line + 1, cmdline);
        diff_lines(err, want, st->n_expect, got, ngot);
    }
    free(want);
    free(got);
    free(obuf);
    return same ? 0 : -1;
}

/* Runs a scenario; on failure fills err (possibly many lines) and returns -1. With
 * rewrite, output mismatches are written back to the file instead of failing. */
int run_file(const char *name, bool rewrite, struct text *err)
{
    char path[512], small[768];
    snprintf(path, sizeof(path), "%s/%s.txt", scenario_dir(), name);
    char *buf = read_file_bounded(path, small, sizeof(small));
    if (!buf) {
        text_printf(err, "%s\n", small);
        return -1;
    }
    /* Lines are tokenized in place, so keep a pristine copy for messages and rewrite. */
    char *orig = strdup(buf);
    if (!orig)
        abort();
    char **lines, **olines;
    size_t nlines = split_lines(buf, &lines);
    size_t nolines = split_lines(orig, &olines);
    (void)nolines;
    struct step *steps = NULL;
    size_t nsteps = 0;
    int rc = 0;
    struct cluster *c = calloc(1, sizeof(*c));
    if (!c)
        abort();
    c->events = true;
    struct text *outs = NULL;
    bool changed = false;
    if (parse_steps(lines, nlines, &steps, &nsteps, small, sizeof(small)) != 0) {
        text_printf(err, "%s: %s\n", path, small);
        rc = -1;
        goto out;
    }
    outs = calloc(nsteps + 1, sizeof(*outs));
    if (!outs)
        abort();
    size_t ran = 0; /* steps whose output is known, for a rewrite */
    for (size_t s = 0; s < nsteps && rc == 0; s++) {
        rtrim(olines[steps[s].line]);
        char *tok[SC_MAX_TOKENS];
        int ntok = tokenize(lines[steps[s].line], tok);
        struct text *o = &outs[s];
        c->out = o;
        ran = s + 1;
        if (ntok < 0) {
            text_printf(err, "%s:%zu: too many words\n", path, steps[s].line + 1);
            rc = -1;
            break;
        }
        if (ntok == 0)
            continue; /* only a trailing comment */
        if (run_command(c, tok, ntok) != 0) {
            text_printf(err, "%s:%zu: `%s`: %s\n", path, steps[s].line + 1, olines[steps[s].line],
                        c->err);
            if (o->len)
                text_printf(err, "output so far:\n%s", o->buf);
            rc = -1;
            changed = true;
            break;
        }
        if (compare_output(path, olines[steps[s].line], &steps[s], lines, o, rewrite, err) != 0)
            changed = true;
        if (!rewrite && changed)
            rc = -1;
    }
    if (rewrite && changed && write_back(path, olines, nlines, steps, nsteps, outs, ran) != 0) {
        text_printf(err, "cannot rewrite %s\n", path);
        rc = -1;
    }
out:
    for (size_t s = 0; outs && s < nsteps; s++)
        text_free(&outs[s]);
    free(outs);
    cluster_free(c);
    free(c);
    steps_free(steps, nsteps);
    free(lines);
    free(olines);
    free(orig);
    free(buf);
    return rc;
}
