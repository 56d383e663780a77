/* sim_log.h: a Raft log reduced to hashes (term, content, prefix chain) so logs compare in O(1). */
#ifndef SIM_LOG_H
#define SIM_LOG_H

#include "raft_peer/core/raft.h"

/* One entry: its term, a hash of its type and bytes, and a hash of the whole log up to
 * and including it. Two logs agree up to index i exactly when their chains at i agree. */
struct sim_meta {
    raft_term term;
    uint64_t dhash;
    uint64_t chain;
};

struct sim_log {
    struct sim_meta *m; /* m[0] is index 1 */
    raft_index len;     /* last index */
    size_t cap;
};

/* Identity of an entry's content (type and bytes; the term is kept apart). */
uint64_t sim_entry_hash(const struct raft_entry *e);
void sim_log_push(struct sim_log *log, raft_term term, uint64_t dhash);
/* Keeps indexes 1..last. */
void sim_log_truncate(struct sim_log *log, raft_index last);
/* The chain at index (0 for index 0). Index must be <= len. */
uint64_t sim_log_chain(const struct sim_log *log, raft_index index);
/* NULL outside 1..len. */
const struct sim_meta *sim_log_at(const struct sim_log *log, raft_index index);
void sim_log_copy(struct sim_log *dst, const struct sim_log *src);
void sim_log_free(struct sim_log *log);

#endif
