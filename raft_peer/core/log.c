/* log.c: the in-memory Raft log, indexed from 1 (Figure 2: "log[]"). */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "raft_peer/core/state.h"

void raft__log_init(struct raft_log *log)
{
    memset(log, 0, sizeof(*log));
}

void raft__log_free(struct raft_log *log)
{
    for (size_t i = 0; i < log->n; i++)
        free(log->entries[i].data);
    free(log->entries);
    memset(log, 0, sizeof(*log));
}

raft_index raft__log_last_index(const struct raft_log *log)
{
    return log->offset + log->n;
}

raft_term raft__log_last_term(const struct raft_log *log)
{
    return log->n > 0 ? log->entries[log->n - 1].term : log->offset_term;
}

struct raft_entry *raft__log_entry_at(const struct raft_log *log, raft_index index)
{
    if (index <= log->offset || index > log->offset + log->n)
        return NULL;
    return &log->entries[index - log->offset - 1];
}

raft_term raft__log_term_at(const struct raft_log *log, raft_index index)
{
    if (index == log->offset)
        return log->offset_term;
    const struct raft_entry *e = raft__log_entry_at(log, index);
    return e ? e->term : 0;
}

int raft__log_append(struct raft_log *log, const struct raft_entry *e)
{
    assert(e != NULL && (e->len == 0 || e->data != NULL));
    assert(log->n <= log->cap);
    if (log->n == log->cap) {
        size_t cap = log->cap ? log->cap * 2 : 64;
        struct raft_entry *grown = realloc(log->entries, cap * sizeof(*grown));
        if (!grown)
            return RAFT_ENOMEM;
        log->entries = grown;
        log->cap = cap;
    }
    struct raft_entry copy = *e;
    copy.data = NULL;
    if (e->len > 0) {
        copy.data = malloc(e->len);
        if (!copy.data)
            return RAFT_ENOMEM;
        memcpy(copy.data, e->data, e->len);
    }
    log->entries[log->n++] = copy;
    return RAFT_OK;
}

void raft__log_truncate(struct raft_log *log, raft_index from)
{
    /* The snapshot's entries are committed: nothing truncates into them. */
    assert(from > log->offset);
    while (raft__log_last_index(log) >= from) {
        log->n--;
        free(log->entries[log->n].data);
    }
}

/* §5.3: the first index of the term of the entry at index, so a follower's
 * rejection lets the leader skip the whole conflicting term at once. */
raft_index raft__log_first_index_of_term(const struct raft_log *log, raft_index index)
{
    assert(index >= log->offset && index <= raft__log_last_index(log));
    raft_term term = raft__log_term_at(log, index);
    while (index > log->offset + 1 && raft__log_term_at(log, index - 1) == term)
        index--;
    return index;
}

/* The leader's side of §5.3: its last entry of term, or 0 when it has none. */
raft_index raft__log_last_index_of_term(const struct raft_log *log, raft_term term)
{
    for (size_t i = log->n; i > 0; i--) {
        raft_term t = log->entries[i - 1].term;
        if (t == term)
            return log->offset + i;
        if (t < term)
            break;
    }
    return 0;
}

/* §7: the entries up to upto live on in a snapshot; upto may lie past the end of the
 * log (a follower installing a leader's snapshot), which empties it. */
void raft__log_compact(struct raft_log *log, raft_index upto, raft_term term)
{
    if (upto <= log->offset)
        return;
    size_t drop = upto - log->offset;
    if (drop > log->n)
        drop = log->n;
    for (size_t i = 0; i < drop; i++)
        free(log->entries[i].data);
    if (log->n > drop) /* memmove with a NULL array is undefined, even for 0 bytes */
        memmove(log->entries, log->entries + drop, (log->n - drop) * sizeof(*log->entries));
    log->n -= drop;
    log->offset = upto;
    log->offset_term = term;
}
