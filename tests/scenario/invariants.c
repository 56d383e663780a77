/* invariants.c: Figure 3's safety properties, checked after every ready whatever the
 * scenario expects. */
#include "tests/scenario/invariants.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "tests/scenario/bounds.h"
#include "tests/scenario/cluster.h"

int check_invariants(struct cluster *c)
{
    for (int id = 1; id <= c->n; id++) {
        struct raft *r = c->peers[id].r;
        if (!r)
            continue;
        raft_term term = raft_current_term(r);
        if (raft_role(r) == RAFT_LEADER && term < 1000000) {
            if (term >= c->n_leader_terms) {
                size_t n = (size_t)term + 16;
                raft_id *l = realloc(c->leader_of_term, n * sizeof(*l));
                if (!l)
                    abort();
                memset(l + c->n_leader_terms, 0, (n - c->n_leader_terms) * sizeof(*l));
                c->leader_of_term = l;
                c->n_leader_terms = n;
            }
            raft_id was = c->leader_of_term[term];
            if (was != 0 && was != id)
                return fail(c, "election safety violated: %d and %d both led term %" PRIu64, was,
                            id, term);
            c->leader_of_term[term] = id;
        }
        raft_index commit = raft_commit_index(r);
        if (commit > raft_last_index(r))
            return fail(c, "peer %d: commit index %" PRIu64 " beyond last index %" PRIu64, id,
                        commit, raft_last_index(r));
        if (commit > SC_MAX_LOG)
            return fail(c, "peer %d: commit index %" PRIu64 " too large for the harness", id,
                        commit);
        if (commit >= c->n_committed) {
            size_t n = (size_t)commit + 16;
            raft_term *ct = realloc(c->committed, n * sizeof(*ct));
            if (!ct)
                abort();
            memset(ct + c->n_committed, 0, (n - c->n_committed) * sizeof(*ct));
            c->committed = ct;
            c->n_committed = n;
        }
        for (raft_index i = raft_first_index(r); i <= commit; i++) {
            raft_term t = raft_term_at(r, i);
            if (c->committed[i] != 0 && c->committed[i] != t)
                return fail(c,
                            "state machine safety violated: index %" PRIu64
                            " committed with term %" PRIu64 ", but peer %d commits term %" PRIu64,
                            i, c->committed[i], id, t);
            c->committed[i] = t;
        }
    }
    return 0;
}
