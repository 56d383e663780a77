/* setup_commands.c: `cluster` and what may be set before the cluster boots (a peer's
 * log, term, vote, election timeout). */
#include "tests/scenario/commands.h"

#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "tests/scenario/args.h"
#include "tests/scenario/bounds.h"
#include "tests/scenario/disk.h"

int cmd_cluster(struct cluster *c, char **tok, int ntok)
{
    uint64_t n;
    if (c->n != 0)
        return fail(c, "only one `cluster` per file");
    if (ntok < 2 || parse_u64(tok[1], &n) != 0 || n < 1 || n > RAFT_MAX_PEERS)
        return fail(c, "usage: cluster N [options], N in 1..%d", RAFT_MAX_PEERS);
    c->n = (int)n;
    c->voters = (int)n;
    raft_config_defaults(&c->base);
    c->base.election_timeout_min = c->base.election_timeout_max = SC_DEFAULT_ELECTION;
    c->base.heartbeat_interval = SC_DEFAULT_HEARTBEAT;
    c->base.pre_vote = false;
    c->base.check_quorum = false;
    /* Only a core built with -DRAFT_MUTATIONS obeys this: a way to check that the
     * scenarios catch the deliberate bugs raft.h lists. */
    const char *mut = getenv("RAFT_SCENARIO_MUTATIONS");
    uint64_t bits = 0;
    if (mut && *mut && (parse_u64(mut, &bits) != 0 || bits > UINT_MAX))
        return fail(c, "RAFT_SCENARIO_MUTATIONS must be a number");
    c->base.mutations = (unsigned)bits;
    raft_time election = SC_DEFAULT_ELECTION;
    for (int i = 2; i < ntok; i++) {
        const char *eq = strchr(tok[i], '=');
        uint64_t v = 0;
        if (eq && (parse_u64(eq + 1, &v) != 0 || v > SC_MAX_MS))
            return fail(c, "bad value in '%s'", tok[i]);
        size_t klen = eq ? (size_t)(eq - tok[i]) : strlen(tok[i]);
#define KEY(k) (klen == strlen(k) && strncmp(tok[i], k, klen) == 0)
        if (!eq && KEY("pre_vote"))
            c->base.pre_vote = true;
        else if (!eq && KEY("check_quorum"))
            c->base.check_quorum = true;
        else if (eq && KEY("election"))
            election = v;
        else if (eq && KEY("heartbeat"))
            c->base.heartbeat_interval = v;
        else if (eq && KEY("max_entries") && v <= UINT32_MAX)
            c->base.max_entries_per_message = (uint32_t)v;
        else if (eq && KEY("max_inflight") && v <= UINT32_MAX)
            c->base.max_inflight = (uint32_t)v;
        else if (eq && KEY("max_inflight_bytes") && v <= UINT32_MAX)
            c->base.max_inflight_bytes = (uint32_t)v;
        else if (eq && KEY("max_uncommitted") && v <= UINT32_MAX)
            c->base.max_uncommitted = (uint32_t)v;
        else if (eq && KEY("voters") && v >= 1 && v <= n)
            c->voters = (int)v;
        else
            return fail(c, "unknown cluster option '%s'", tok[i]);
#undef KEY
    }
    for (int id = 1; id <= c->n; id++) {
        struct peer *p = &c->peers[id];
        p->id = id;
        p->c = c;
        p->timeout = election;
    }
    return 0;
}

int cmd_setup(struct cluster *c, char **tok, int ntok)
{
    raft_id id;
    uint64_t v;
    if (c->n == 0)
        return fail(c, "`%s` needs a `cluster` first", tok[0]);
    if (c->booted)
        return fail(c, "`%s` only works before the cluster boots (before any other command)",
                    tok[0]);
    if (ntok < 2 || parse_peer(c, tok[1], false, &id) != 0)
        return fail(c, "usage: %s P ...", tok[0]);
    struct peer *p = &c->peers[id];
    if (strcmp(tok[0], "log") == 0) {
        raft_term *ts;
        size_t n;
        if (parse_terms(c, tok + 2, ntok - 2, &ts, &n) != 0)
            return -1;
        disk_truncate(&p->disk, 0);
        for (size_t i = 0; i < n; i++) {
            if (i > 0 && ts[i] < ts[i - 1]) {
                free(ts);
                return fail(c, "log terms must not decrease");
            }
            struct raft_entry e = {.term = ts[i], .type = RAFT_ENTRY_COMMAND};
            disk_append(&p->disk, &e);
        }
        free(ts);
        if (p->disk.n > 0 && p->disk.term < p->disk.entries[p->disk.n - 1].term)
            p->disk.term = p->disk.entries[p->disk.n - 1].term;
        return 0;
    }
    if (ntok != 3 || parse_u64(tok[2], &v) != 0)
        return fail(c, "usage: %s P VALUE", tok[0]);
    if (strcmp(tok[0], "term") == 0) {
        if (p->disk.n > 0 && v < p->disk.entries[p->disk.n - 1].term)
            return fail(c, "term %" PRIu64 " is below the peer's last log term", v);
        p->disk.term = v;
    } else if (strcmp(tok[0], "vote") == 0) {
        if (v > (uint64_t)c->n)
            return fail(c, "vote for unknown peer %" PRIu64, v);
        p->disk.vote = (raft_id)v;
    } else { /* timeout */
        if (v == 0 || v > SC_MAX_MS)
            return fail(c, "timeout must be 1..%u", SC_MAX_MS);
        p->timeout = v;
    }
    return 0;
}
