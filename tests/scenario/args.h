/* args.h: the words of a command line. Each parser fails through fail() (c->err). */
#ifndef SCENARIO_ARGS_H
#define SCENARIO_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "raft_peer/core/raft.h"
#include "tests/scenario/cluster.h"
#include "tests/scenario/network.h"

/* A decimal number; -1 for anything else (no sign, no overflow). */
int parse_u64(const char *s, uint64_t *out);
/* "I/T": an index and a term. */
int parse_index_term(const char *s, uint64_t *index, uint64_t *term);
/* A peer id; with allow_all, "all" or "*" gives 0. A trailing ':' is allowed. */
int parse_peer(struct cluster *c, const char *s, bool allow_all, raft_id *out);
/* "A->B", either side a peer or "*"; NULL s matches everything. */
int parse_filter(struct cluster *c, const char *s, struct filter *f);
/* The running peer s names, or NULL (c->err says why). */
struct peer *running_peer(struct cluster *c, const char *s);
/* A log written as the term of each entry, index 1 first (*out to free). */
int parse_terms(struct cluster *c, char **tok, int ntok, raft_term **out, size_t *n);

#endif
