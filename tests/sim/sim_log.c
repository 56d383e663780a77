/* sim_log.c: hashed logs. */
#include "sim_log.h"

#include <stdlib.h>
#include <string.h>

#include "sim_alloc.h"
#include "sim_rng.h"

uint64_t sim_entry_hash(const struct raft_entry *e)
{
    return sim_hash_bytes(e->len ? e->data : NULL, e->len, 0x5157ULL + e->type);
}

void sim_log_push(struct sim_log *log, raft_term term, uint64_t dhash)
{
    sim_grow((void **)&log->m, &log->cap, (size_t)log->len + 1, sizeof(*log->m));
    uint64_t prev = sim_log_chain(log, log->len);
    struct sim_meta *m = &log->m[log->len];
    m->term = term;
    m->dhash = dhash;
    m->chain = sim_hash_mix(prev, sim_hash_mix(term, dhash));
    log->len++;
}

void sim_log_truncate(struct sim_log *log, raft_index last)
{
    if (last < log->len)
        log->len = last;
}

uint64_t sim_log_chain(const struct sim_log *log, raft_index index)
{
    if (index == 0 || index > log->len)
        return 0;
    return log->m[index - 1].chain;
}

const struct sim_meta *sim_log_at(const struct sim_log *log, raft_index index)
{
    if (index == 0 || index > log->len)
        return NULL;
    return &log->m[index - 1];
}

void sim_log_copy(struct sim_log *dst, const struct sim_log *src)
{
    sim_grow((void **)&dst->m, &dst->cap, (size_t)src->len, sizeof(*dst->m));
    if (src->len)
        memcpy(dst->m, src->m, (size_t)src->len * sizeof(*dst->m));
    dst->len = src->len;
}

void sim_log_free(struct sim_log *log)
{
    free(log->m);
    log->m = NULL;
    log->len = 0;
    log->cap = 0;
}
