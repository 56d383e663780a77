/* mix.h: the command mix of a benchmark ("add=90,get=10") and the commands it draws. */
#ifndef BENCH_MIX_H
#define BENCH_MIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum mix_op { MIX_SET, MIX_ADD, MIX_SUB, MIX_MUL, MIX_DIV, MIX_CAS, MIX_GET, MIX_DEL, MIX_N_OPS };

#define MIX_TEXT_MAX 128 /* longest --mix argument accepted */

struct mix {
    unsigned weight[MIX_N_OPS]; /* relative weights, at least one non-zero */
    unsigned total;             /* sum of the weights */
    char text[MIX_TEXT_MAX];    /* canonical form, for reports: "add=90,get=10" */
};

/* Parses "op=weight[,op=weight...]" where op is set, add, sub, mul, div, cas, get or
 * del and weight an integer 0..1000000; an op may appear once. 0 or -1 with err. */
int mix_parse(const char *s, struct mix *m, char *err, size_t errlen);

/* splitmix64: a small seeded generator, so a run's command stream can be repeated. */
uint64_t bench_rand(uint64_t *state);

/* Draws the next command over variables k0..k<keys-1> into out (NUL-terminated).
 * *is_write tells whether it goes through the log (every op but get). Returns the
 * op drawn. */
enum mix_op mix_draw(const struct mix *m, uint64_t *rng, unsigned keys, char *out, size_t outlen,
                     bool *is_write);

const char *mix_op_name(enum mix_op op);

#endif
