/* sim_invariants.c: each check costs O(1) or O(what changed), so they can run after every step. */
#include "sim_invariants.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_alloc.h"
#include "sim_rng.h"

void sim_inv_init(struct sim_inv *inv)
{
    memset(inv, 0, sizeof(*inv));
}

void sim_inv_free(struct sim_inv *inv)
{
    free(inv->leader_of);
    for (int i = 0; i < SIM_INV_MAX_NODES; i++)
        free(inv->vote_of[i]);
    free(inv->map);
    sim_log_free(&inv->committed);
    free(inv->known_in);
    free(inv->applied);
    memset(inv, 0, sizeof(*inv));
}

/* Grows a per-term byte array, zero-filled, so that index term is valid. */
static int term_slot(uint8_t **arr, size_t *cap, raft_term term, char *err, size_t errlen)
{
    if (term >= SIM_INV_MAX_TERM) {
        snprintf(err, errlen, "term %llu exceeds the simulator's bound %u (runaway elections)",
                 (unsigned long long)term, SIM_INV_MAX_TERM);
        return -1;
    }
    if ((size_t)term < *cap)
        return 0;
    size_t old = *cap;
    sim_grow((void **)arr, cap, (size_t)term + 1, 1);
    memset(*arr + old, 0, *cap - old);
    return 0;
}

int sim_inv_leader(struct sim_inv *inv, raft_term term, int id, char *err, size_t errlen)
{
    if (term_slot(&inv->leader_of, &inv->leader_cap, term, err, errlen) != 0)
        return -1;
    uint8_t *slot = &inv->leader_of[term];
    if (*slot != 0 && *slot != id) {
        snprintf(err, errlen, "term %llu has two leaders: node %d and node %d",
                 (unsigned long long)term, *slot, id);
        return -1;
    }
    *slot = (uint8_t)id;
    return 0;
}

int sim_inv_vote(struct sim_inv *inv, int voter, raft_term term, int candidate, char *err,
                 size_t errlen)
{
    if (voter < 1 || voter >= SIM_INV_MAX_NODES)
        return 0;
    if (term_slot(&inv->vote_of[voter], &inv->vote_cap[voter], term, err, errlen) != 0)
        return -1;
    uint8_t *slot = &inv->vote_of[voter][term];
    if (*slot != 0 && *slot != candidate) {
        snprintf(err, errlen, "node %d granted its term-%llu vote to node %d and then to node %d",
                 voter, (unsigned long long)term, *slot, candidate);
        return -1;
    }
    *slot = (uint8_t)candidate;
    return 0;
}

static size_t slot_of(raft_index index, raft_term term, size_t cap)
{
    return (size_t)(sim_hash_mix(index, term) & (cap - 1));
}

static void map_grow(struct sim_inv *inv)
{
    size_t ncap = inv->map_cap ? inv->map_cap * 2 : 4096;
    struct sim_chain_slot *nm = sim_xcalloc(ncap, sizeof(*nm));
    for (size_t i = 0; i < inv->map_cap; i++) {
        struct sim_chain_slot *s = &inv->map[i];
        if (s->index == 0)
            continue;
        size_t j = slot_of(s->index, s->term, ncap);
        while (nm[j].index != 0)
            j = (j + 1) & (ncap - 1);
        nm[j] = *s;
    }
    free(inv->map);
    inv->map = nm;
    inv->map_cap = ncap;
}

int sim_inv_log_entry(struct sim_inv *inv, raft_index index, const struct sim_meta *m, char *err,
                      size_t errlen)
{
    if (2 * (inv->map_len + 1) > inv->map_cap)
        map_grow(inv);
    size_t j = slot_of(index, m->term, inv->map_cap);
    for (;;) {
        struct sim_chain_slot *s = &inv->map[j];
        if (s->index == 0) {
            s->index = index;
            s->term = m->term;
            s->chain = m->chain;
            inv->map_len++;
            return 0;
        }
        if (s->index == index && s->term == m->term) {
            if (s->chain == m->chain)
                return 0;
            snprintf(err, errlen,
                     "two logs hold an entry at index %llu with term %llu but differ at or "
                     "before it",
                     (unsigned long long)index, (unsigned long long)m->term);
            return -1;
        }
        j = (j + 1) & (inv->map_cap - 1);
    }
}

raft_index sim_inv_committed_index(const struct sim_inv *inv)
{
    return inv->committed.len;
}

bool sim_inv_holds(const struct sim_inv *inv, const struct sim_log *log, raft_index upto)
{
    if (upto == 0)
        return true;
    if (upto > inv->committed.len || log->len < upto)
        return false;
    return sim_log_chain(log, upto) == sim_log_chain(&inv->committed, upto);
}

/* The first committed index at which log differs from the record (for messages). */
static raft_index first_difference(const struct sim_inv *inv, const struct sim_log *log,
                                   raft_index upto)
{
    for (raft_index i = 1; i <= upto; i++) {
        const struct sim_meta *m = sim_log_at(log, i);
        const struct sim_meta *c = sim_log_at(&inv->committed, i);
        if (!m || m->term != c->term || m->dhash != c->dhash)
            return i;
    }
    return upto;
}

int sim_inv_commit(struct sim_inv *inv, const struct sim_log *log, raft_index commit,
                   raft_term term, bool *grew, char *err, size_t errlen)
{
    *grew = false;
    if (commit > log->len) {
        snprintf(err, errlen, "commit index %llu is past the last log index %llu",
                 (unsigned long long)commit, (unsigned long long)log->len);
        return -1;
    }
    raft_index known = inv->committed.len;
    raft_index check = commit < known ? commit : known;
    if (!sim_inv_holds(inv, log, check)) {
        raft_index at = first_difference(inv, log, check);
        const struct sim_meta *m = sim_log_at(log, at);
        snprintf(err, errlen,
                 "index %llu is committed as a term-%llu entry elsewhere, but this node "
                 "commits a term-%llu entry there",
                 (unsigned long long)at, (unsigned long long)sim_log_at(&inv->committed, at)->term,
                 (unsigned long long)(m ? m->term : 0));
        return -1;
    }
    if (commit <= known)
        return 0;
    sim_grow((void **)&inv->known_in, &inv->known_cap, (size_t)commit, sizeof(*inv->known_in));
    for (raft_index i = known + 1; i <= commit; i++) {
        const struct sim_meta *m = sim_log_at(log, i);
        sim_log_push(&inv->committed, m->term, m->dhash);
        inv->known_in[i - 1] = term;
    }
    *grew = true;
    return 0;
}

int sim_inv_snapshot(const struct sim_inv *inv, raft_index index, raft_term term, uint64_t chain,
                     char *err, size_t errlen)
{
    if (index == 0)
        return 0;
    if (index > inv->committed.len) {
        snprintf(err, errlen, "a snapshot covers index %llu, which nobody has committed",
                 (unsigned long long)index);
        return -1;
    }
    const struct sim_meta *c = sim_log_at(&inv->committed, index);
    if (c->term != term || c->chain != chain) {
        snprintf(err, errlen,
                 "a snapshot at index %llu (term %llu) holds another state than the committed "
                 "log up to there (term %llu)",
                 (unsigned long long)index, (unsigned long long)term, (unsigned long long)c->term);
        return -1;
    }
    return 0;
}

int sim_inv_leader_complete(const struct sim_inv *inv, const struct sim_log *log,
                            raft_term leader_term, char *err, size_t errlen)
{
    /* If index k was known committed in an earlier term, so was everything before it:
     * checking the chain at the highest such k covers the whole prefix. */
    raft_index k = inv->committed.len;
    while (k > 0 && inv->known_in[k - 1] >= leader_term)
        k--;
    if (sim_inv_holds(inv, log, k))
        return 0;
    raft_index at = log->len < k ? log->len + 1 : first_difference(inv, log, k);
    if (at > log->len) {
        snprintf(
            err, errlen, "leader of term %llu lacks committed entry %llu (its log ends at %llu)",
            (unsigned long long)leader_term, (unsigned long long)at, (unsigned long long)log->len);
    } else {
        snprintf(err, errlen,
                 "leader of term %llu has a term-%llu entry at index %llu where a term-%llu "
                 "entry was committed",
                 (unsigned long long)leader_term, (unsigned long long)sim_log_at(log, at)->term,
                 (unsigned long long)at, (unsigned long long)sim_log_at(&inv->committed, at)->term);
    }
    return -1;
}

int sim_inv_keeps_committed(const struct sim_inv *inv, const struct sim_log *log, raft_index from,
                            char *err, size_t errlen)
{
    if (from == 0 || from > log->len || from > inv->committed.len)
        return 0;
    /* Chains are prefix hashes: the entry at `from` equals the committed one, prefix
     * included, exactly when the chains agree; later indexes then cannot agree unless
     * this one does. */
    if (sim_log_chain(log, from) != sim_log_chain(&inv->committed, from))
        return 0;
    snprintf(err, errlen, "committed entry %llu (term %llu) is removed or overwritten",
             (unsigned long long)from, (unsigned long long)sim_log_at(&inv->committed, from)->term);
    return -1;
}

int sim_inv_keeps_committed_in(const struct sim_inv *inv, const struct sim_log *log,
                               raft_index from, raft_term term, char *err, size_t errlen)
{
    if (from == 0 || from > inv->committed.len || inv->known_in[from - 1] > term)
        return 0;
    return sim_inv_keeps_committed(inv, log, from, err, errlen);
}

int sim_inv_apply(struct sim_inv *inv, raft_index index, raft_term term, uint64_t dhash, char *err,
                  size_t errlen)
{
    if (index > inv->committed.len) {
        snprintf(err, errlen, "applies index %llu, which nobody has committed (highest %llu)",
                 (unsigned long long)index, (unsigned long long)inv->committed.len);
        return -1;
    }
    const struct sim_meta *c = sim_log_at(&inv->committed, index);
    if (c->term != term || c->dhash != dhash) {
        snprintf(err, errlen,
                 "applies a term-%llu entry at index %llu where a term-%llu entry was committed",
                 (unsigned long long)term, (unsigned long long)index, (unsigned long long)c->term);
        return -1;
    }
    if (index <= inv->n_applied) {
        const struct sim_applied *a = &inv->applied[index - 1];
        if (a->term != term || a->dhash != dhash) {
            snprintf(err, errlen,
                     "applies a term-%llu entry at index %llu where another node applied a "
                     "term-%llu entry",
                     (unsigned long long)term, (unsigned long long)index,
                     (unsigned long long)a->term);
            return -1;
        }
        return 0;
    }
    if (index != inv->n_applied + 1) {
        snprintf(err, errlen, "applies index %llu before anyone applied index %llu",
                 (unsigned long long)index, (unsigned long long)(inv->n_applied + 1));
        return -1;
    }
    sim_grow((void **)&inv->applied, &inv->applied_cap, (size_t)index, sizeof(*inv->applied));
    inv->applied[index - 1].term = term;
    inv->applied[index - 1].dhash = dhash;
    inv->n_applied = index;
    return 0;
}
