/* script.h: the layout of a scenario file: commands and the output expected of them. */
#ifndef SCENARIO_SCRIPT_H
#define SCENARIO_SCRIPT_H

#include <stdbool.h>
#include <stddef.h>

struct step {
    size_t line;    /* index of the command line */
    size_t *expect; /* indexes of the expected output lines */
    size_t n_expect;
    size_t *other; /* comments and blank lines after the command, kept on rewrite */
    size_t n_other;
};

bool is_comment(const char *s);
bool is_blank(const char *s);
/* Splits a command line into words in place (a '#' ends it); -1 for too many. */
int tokenize(char *s, char **tok);
/* Parses the lines into steps. Lines before the first command may only be comments. */
int parse_steps(char **lines, size_t nlines, struct step **out, size_t *nout, char *err,
                size_t errlen);
void steps_free(struct step *steps, size_t n);

#endif
