/* mix.c: see mix.h. */
#include "bench/mix.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const op_names[MIX_N_OPS] = {"set", "add", "sub", "mul",
                                                "div", "cas", "get", "del"};

const char *mix_op_name(enum mix_op op)
{
    return op >= 0 && op < MIX_N_OPS ? op_names[op] : "?";
}

static int find_op(const char *name, size_t len)
{
    for (int i = 0; i < MIX_N_OPS; i++)
        if (strlen(op_names[i]) == len && !strncmp(op_names[i], name, len))
            return i;
    return -1;
}

int mix_parse(const char *s, struct mix *m, char *err, size_t errlen)
{
    memset(m, 0, sizeof(*m));
    if (!s || !*s || strlen(s) >= MIX_TEXT_MAX) {
        snprintf(err, errlen, "--mix must be op=weight[,op=weight...], at most %d characters",
                 MIX_TEXT_MAX - 1);
        return -1;
    }
    bool seen[MIX_N_OPS] = {false};
    const char *p = s;
    while (*p) {
        const char *eq = strchr(p, '=');
        const char *comma = strchr(p, ',');
        if (!eq || (comma && comma < eq)) {
            snprintf(err, errlen, "--mix: expected op=weight at '%s'", p);
            return -1;
        }
        int op = find_op(p, (size_t)(eq - p));
        if (op < 0) {
            snprintf(err, errlen,
                     "--mix: unknown op '%.*s' (use set, add, sub, mul, div, cas, get, del)",
                     (int)(eq - p), p);
            return -1;
        }
        if (seen[op]) {
            snprintf(err, errlen, "--mix: %s is given twice", op_names[op]);
            return -1;
        }
        seen[op] = true;
        char *end;
        errno = 0;
        long w = strtol(eq + 1, &end, 10);
        if (eq[1] < '0' || eq[1] > '9' || errno || (*end && *end != ',') || w < 0 || w > 1000000) {
            snprintf(err, errlen, "--mix: the weight of %s must be an integer 0..1000000",
                     op_names[op]);
            return -1;
        }
        m->weight[op] = (unsigned)w;
        m->total += (unsigned)w;
        p = *end == ',' ? end + 1 : end;
        if (*end == ',' && !*p) {
            snprintf(err, errlen, "--mix: trailing comma");
            return -1;
        }
    }
    if (m->total == 0) {
        snprintf(err, errlen, "--mix: every weight is 0");
        return -1;
    }
    size_t used = 0;
    for (int i = 0; i < MIX_N_OPS; i++) {
        if (!m->weight[i])
            continue;
        int n = snprintf(m->text + used, sizeof(m->text) - used, "%s%s=%u", used ? "," : "",
                         op_names[i], m->weight[i]);
        if (n < 0 || (size_t)n >= sizeof(m->text) - used)
            break; /* cannot happen: the canonical form is never longer than the input */
        used += (size_t)n;
    }
    return 0;
}

uint64_t bench_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

enum mix_op mix_draw(const struct mix *m, uint64_t *rng, unsigned keys, char *out, size_t outlen,
                     bool *is_write)
{
    uint64_t r = bench_rand(rng);
    unsigned pick = (unsigned)(r % m->total);
    int op = 0;
    while (op < MIX_N_OPS - 1 && pick >= m->weight[op]) {
        pick -= m->weight[op];
        op++;
    }
    unsigned key = keys ? (unsigned)((r >> 32) % keys) : 0;
    switch (op) {
    case MIX_SET:
        snprintf(out, outlen, "k%u set %u", key, (unsigned)(r >> 8) % 1000u);
        break;
    case MIX_ADD:
        snprintf(out, outlen, "k%u add 1", key);
        break;
    case MIX_SUB:
        snprintf(out, outlen, "k%u sub 1", key);
        break;
    case MIX_MUL: /* by 1 and by 1: values never overflow however long the run */
        snprintf(out, outlen, "k%u mul 1", key);
        break;
    case MIX_DIV:
        snprintf(out, outlen, "k%u div 1", key);
        break;
    case MIX_CAS: /* fails with cas_failed unless k is 0: both outcomes are real work */
        snprintf(out, outlen, "k%u cas 0 1", key);
        break;
    case MIX_GET:
        snprintf(out, outlen, "k%u get", key);
        break;
    default:
        snprintf(out, outlen, "k%u del", key);
        break;
    }
    *is_write = op != MIX_GET;
    return (enum mix_op)op;
}
