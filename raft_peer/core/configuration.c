/* configuration.c: which peers vote and which learn (dissertation §4.1), its bytes, and
 * which configuration a server uses: "a server always uses the latest configuration in
 * its log, regardless of whether the entry is committed". The configuration is not
 * stored apart from the log: it is recomputed from the log (and the snapshot's, at the
 * log's offset) whenever the log changes in a way that can change it: a configuration
 * entry appended, a truncation (§4.1: "if the log is truncated, it reverts to the
 * previous configuration"), a compaction or an installed snapshot. */
#include <string.h>

#include "raft_peer/core/state.h"

#define ALL_PEERS ((((uint32_t)1 << RAFT_MAX_PEERS) - 1) << 1) /* bits 1..MAX */

static uint32_t bit(raft_id id)
{
    return id >= 1 && id <= RAFT_MAX_PEERS ? (uint32_t)1 << id : 0;
}

struct raft_configuration raft_configuration_bootstrap(int n)
{
    struct raft_configuration c = {0, 0};
    for (raft_id id = 1; id <= n && id <= RAFT_MAX_PEERS; id++)
        c.voters |= bit(id);
    return c;
}

bool raft_configuration_is_voter(const struct raft_configuration *c, raft_id id)
{
    return (c->voters & bit(id)) != 0;
}

bool raft_configuration_is_learner(const struct raft_configuration *c, raft_id id)
{
    return (c->learners & bit(id)) != 0;
}

bool raft_configuration_is_member(const struct raft_configuration *c, raft_id id)
{
    return ((c->voters | c->learners) & bit(id)) != 0;
}

int raft_configuration_n_voters(const struct raft_configuration *c)
{
    int n = 0;
    for (uint32_t v = c->voters; v != 0; v &= v - 1)
        n++;
    return n;
}

/* "voters=" or ";learners=" followed by the ids of mask, ascending, comma-separated. */
static size_t put_list(uint8_t *out, size_t at, const char *label, uint32_t mask)
{
    for (const char *p = label; *p; p++)
        out[at++] = (uint8_t)*p;
    bool first = true;
    for (raft_id id = 1; id <= RAFT_MAX_PEERS; id++) {
        if (!(mask & bit(id)))
            continue;
        if (!first)
            out[at++] = ',';
        first = false;
        if (id >= 10)
            out[at++] = (uint8_t)('0' + id / 10);
        out[at++] = (uint8_t)('0' + id % 10);
    }
    return at;
}

size_t raft_configuration_encode(const struct raft_configuration *c,
                                 uint8_t out[RAFT_CONFIGURATION_MAX])
{
    size_t at = put_list(out, 0, "voters=", c->voters);
    return put_list(out, at, ";learners=", c->learners);
}

bool raft__configuration_valid(const struct raft_configuration *c)
{
    return (c->voters & ~ALL_PEERS) == 0 && (c->learners & ~ALL_PEERS) == 0 &&
           (c->voters & c->learners) == 0;
}

/* Reads label then a list as put_list writes it, ascending ids without leading zeros;
 * returns the position after it, or 0 when the bytes are anything else. */
static size_t get_list(const uint8_t *data, size_t len, size_t at, const char *label,
                       uint32_t *mask)
{
    for (const char *p = label; *p; p++, at++)
        if (at >= len || data[at] != (uint8_t)*p)
            return 0;
    *mask = 0;
    raft_id last = 0;
    while (at < len && data[at] != ';') {
        if (last != 0 && data[at++] != ',')
            return 0;
        if (at >= len || data[at] < '1' || data[at] > '9')
            return 0;
        raft_id id = data[at++] - '0';
        if (at < len && data[at] >= '0' && data[at] <= '9')
            id = id * 10 + (data[at++] - '0');
        if (id <= last || id > RAFT_MAX_PEERS)
            return 0;
        *mask |= bit(id);
        last = id;
    }
    return at;
}

int raft_configuration_decode(const uint8_t *data, size_t len, struct raft_configuration *c)
{
    struct raft_configuration d;
    size_t at;
    if (!data || len > RAFT_CONFIGURATION_MAX ||
        (at = get_list(data, len, 0, "voters=", &d.voters)) == 0 ||
        (at = get_list(data, len, at, ";learners=", &d.learners)) != len ||
        !raft__configuration_valid(&d))
        return RAFT_EINVAL;
    *c = d;
    return RAFT_OK;
}

bool raft__configuration_entry_valid(const struct raft_entry *e)
{
    struct raft_configuration c;
    return e->type != RAFT_ENTRY_CONFIG || raft_configuration_decode(e->data, e->len, &c) == 0;
}

static bool entry_configuration(const struct raft_entry *e, struct raft_configuration *c)
{
    return e->type == RAFT_ENTRY_CONFIG && raft_configuration_decode(e->data, e->len, c) == 0;
}

/* The latest configuration entry at or below from (and above the offset), or 0. */
static raft_index find_before(const struct raft_log *log, raft_index from,
                              struct raft_configuration *c)
{
    for (raft_index i = from; i > log->offset; i--)
        if (entry_configuration(raft__log_entry_at(log, i), c))
            return i;
    return 0;
}

int raft_configuration_at(const struct raft *r, raft_index index, struct raft_configuration *out)
{
    if (index < r->log.offset || index > raft__log_last_index(&r->log))
        return RAFT_EINVAL;
    if (find_before(&r->log, index, out) == 0)
        *out = r->snap_conf;
    return RAFT_OK;
}

/* Recomputes the latest configuration in the log and the one before it. The mutant
 * RAFT_MUTATE_CONFIG_ON_COMMIT uses only committed entries: the bug §4.1 warns of. */
void raft__conf_rebuild(struct raft *r)
{
    struct raft_log *log = &r->log;
    raft_index last = raft__log_last_index(log);
    r->conf_last_index = find_before(log, last, &r->conf_last);
    if (r->conf_last_index == 0)
        r->conf_last = r->snap_conf;

    raft_index upto = last;
    if (MUTATED(r, RAFT_MUTATE_CONFIG_ON_COMMIT) && r->commit_index < upto)
        upto = r->commit_index;
    struct raft_configuration conf, prev;
    raft_index index = find_before(log, upto, &conf);
    if (index == 0) {
        conf = r->snap_conf;
        prev = r->snap_conf;
    } else if (find_before(log, index - 1, &prev) == 0) {
        prev = r->snap_conf;
    }
    bool changed = index != r->conf_index || memcmp(&conf, &r->conf, sizeof(conf)) != 0;
    r->conf = conf;
    r->conf_prev = prev;
    r->conf_index = index;
    if (changed) {
        raft__trace_emit(r, RAFT_TRACE_CONFIGURATION, RAFT_NOBODY, conf.voters, conf.learners,
                         index);
        if (r->role == RAFT_LEADER)
            raft__progress_sync(r);
    }
}

bool raft__conf_is_voter(const struct raft *r, raft_id id)
{
    return raft_configuration_is_voter(&r->conf, id);
}

/* Majorities are counted over the voters of the configuration in use (§4.1). */
int raft__majority(const struct raft *r)
{
    return raft_configuration_n_voters(&r->conf) / 2 + 1;
}

/* Whom the leader replicates to: every member, and while a change is uncommitted the
 * members it removes too, so that a removed server learns of its removal. */
uint32_t raft__conf_replication_set(const struct raft *r)
{
    uint32_t set = r->conf.voters | r->conf.learners;
    if (r->conf_index > r->commit_index)
        set |= r->conf_prev.voters | r->conf_prev.learners;
    return set & ~bit(r->cfg.id);
}

/* A voter campaigns. So does a server that was a voter in the previous configuration
 * while the change is not committed (cowsql/raft issue #150): the change that removes
 * it may never commit, and without it the old configuration could lack a majority of
 * servers willing to stand. A learner, and a server that knows no configuration naming
 * it (a peer waiting to join), never does. */
bool raft__conf_may_campaign(const struct raft *r)
{
    if (raft__conf_is_voter(r, r->cfg.id))
        return true;
    return r->conf_index > r->commit_index && raft_configuration_is_voter(&r->conf_prev, r->cfg.id);
}

const struct raft_configuration *raft_configuration(const struct raft *r)
{
    return &r->conf;
}

raft_index raft_configuration_index(const struct raft *r)
{
    return r->conf_index;
}

bool raft_configuration_pending(const struct raft *r)
{
    return r->conf_last_index > r->commit_index;
}
