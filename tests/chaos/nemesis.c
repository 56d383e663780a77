/* nemesis.c: see nemesis.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "tests/chaos/member_change.h"
#include "tests/chaos/nemesis.h"

/* How long one membership change may take, an add's catch-up included. */
#define MEMBER_CHANGE_MS 90000

static const char *const kind_names[FAULT_KINDS] = {
    "kill",     "kill-minority", "freeze",        "isolate",     "split",   "bridge",     "one-way",
    "transfer", "power-cut",     "power-cut-all", "restart-cut", "replace", "grow-shrink"};

const char *nemesis_kind_name(enum fault_kind kind)
{
    return (unsigned)kind < FAULT_KINDS ? kind_names[kind] : "?";
}

static uint64_t next_rand(struct nemesis *m)
{
    m->rng ^= m->rng << 13;
    m->rng ^= m->rng >> 7;
    m->rng ^= m->rng << 17;
    return m->rng;
}

static int pick(struct nemesis *m, int n)
{
    return (int)(next_rand(m) % (uint64_t)n);
}

void nemesis_init(struct nemesis *m, struct chaos_cluster *c, struct netfault *nf,
                  struct power_cuts *power, bool membership, uint64_t seed, FILE *timeline)
{
    memset(m, 0, sizeof(*m));
    m->cluster = c;
    m->nf = nf;
    m->power = power;
    m->membership = membership;
    m->rng = (seed * 0x2545f4914f6cdd1dULL) | 1;
    m->t0_ms = chaos_now_ms();
    m->timeline = timeline;
}

static void note(struct nemesis *m, const char *fmt, ...)
{
    if (!m->timeline)
        return;
    uint64_t t = chaos_now_ms() - m->t0_ms;
    fprintf(m->timeline, "%7.3f ", (double)t / 1000.0);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(m->timeline, fmt, ap);
    va_end(ap);
    fputc('\n', m->timeline);
    fflush(m->timeline);
}

int nemesis_total(const struct nemesis *m)
{
    int total = 0;
    for (int k = 0; k < FAULT_KINDS; k++)
        total += m->counts[k];
    return total;
}

void nemesis_watch(struct nemesis *m, int ms)
{
    uint64_t end = chaos_now_ms() + (uint64_t)(ms > 0 ? ms : 0);
    do {
        for (int i = 1; i <= m->cluster->n; i++) {
            int status;
            if (!chaos_cluster_exited(m->cluster, i, &status))
                continue;
            char what[200];
            bool leaving = !m->cluster->peer[i].member || i == m->leaving;
            if (leaving && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
                note(m, "%s (removed) exited with status 0", m->cluster->peer[i].name);
                m->removed_exited++;
                continue;
            }
            if (WIFSIGNALED(status))
                snprintf(what, sizeof(what), "%s died of signal %d", m->cluster->peer[i].name,
                         WTERMSIG(status));
            else
                snprintf(what, sizeof(what), "%s exited with status %d", m->cluster->peer[i].name,
                         WEXITSTATUS(status));
            if (m->unexpected_exits++ == 0)
                snprintf(m->first_exit, sizeof(m->first_exit), "%s after %.1f s", what,
                         (double)(chaos_now_ms() - m->t0_ms) / 1000.0);
            if (!m->cluster->peer[i].member) {
                note(m, "UNEXPECTED: %s (removed)", what);
                continue;
            }
            note(m, "UNEXPECTED: %s; restarting it", what);
            char err[256];
            if (chaos_cluster_start(m->cluster, i, err, sizeof(err)) != 0)
                note(m, "restart of %s failed: %s", m->cluster->peer[i].name, err);
        }
        uint64_t now = chaos_now_ms();
        if (now >= end)
            break;
        chaos_sleep_ms((int)(end - now < 50 ? end - now : 50));
    } while (1);
}

/* The leader half the time (when there is one), else any member. */
static int victim(struct nemesis *m)
{
    if (pick(m, 2) == 0) {
        int leader = chaos_cluster_find_leader(m->cluster, 0);
        if (leader > 0)
            return leader;
    }
    int members[CHAOS_MAX_PEERS];
    int n = chaos_cluster_members(m->cluster, members);
    return members[pick(m, n)];
}

/* The members in a random order; how many. */
static int shuffle(struct nemesis *m, int *order)
{
    int n = chaos_cluster_members(m->cluster, order);
    for (int i = n - 1; i > 0; i--) {
        int j = pick(m, i + 1), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    return n;
}

/* Cuts both ways every link between a peer of side a and one of side b. */
static int cut_between(struct nemesis *m, const int *side, int a, int b, char *err, size_t errlen)
{
    for (int i = 1; i <= m->cluster->n; i++)
        for (int j = 1; j <= m->cluster->n; j++)
            if (side[i] == a && side[j] == b &&
                netfault_set_cut2(m->nf, i, j, true, err, errlen) != 0)
                return -1;
    return 0;
}

static void describe_sides(struct nemesis *m, const int *side, int sides, char *out, size_t len)
{
    size_t used = 0;
    out[0] = 0;
    for (int s = 0; s < sides; s++) {
        used += (size_t)snprintf(out + used, used < len ? len - used : 0, "%s{", s ? " | " : "");
        bool first = true;
        for (int i = 1; i <= m->cluster->n; i++) {
            if (side[i] != s)
                continue;
            used += (size_t)snprintf(out + used, used < len ? len - used : 0, "%s%d",
                                     first ? "" : ",", i);
            first = false;
        }
        used += (size_t)snprintf(out + used, used < len ? len - used : 0, "}");
    }
}

static int transfer(struct nemesis *m)
{
    int leader = chaos_cluster_find_leader(m->cluster, 0);
    if (leader <= 0) {
        note(m, "transfer: no leader to ask");
        return 0;
    }
    int members[CHAOS_MAX_PEERS], others[CHAOS_MAX_PEERS], n = 0;
    int count = chaos_cluster_members(m->cluster, members);
    for (int k = 0; k < count; k++)
        if (members[k] != leader)
            others[n++] = members[k];
    if (n == 0) {
        note(m, "transfer: nobody to hand over to");
        return 0;
    }
    int to = others[pick(m, n)];
    char line[128], answer[1024];
    snprintf(line, sizeof(line), "{\"type\":\"transfer\",\"target\":\"%s\"}\n",
             m->cluster->peer[to].name);
    const struct chaos_peer *p = &m->cluster->peer[leader];
    int rc = chaos_exchange(p->host, p->port, line, answer, sizeof(answer), 1000);
    note(m, "transfer %d -> %d: %s", leader, to, rc == 0 ? answer : "no answer");
    return 0;
}

/* Peer i is dead: its disk forgets what it did not sync. */
static int power_cut(struct nemesis *m, int i, char *err, size_t errlen)
{
    int rc = power_cuts_cut(m->power, i, err, errlen);
    note(m, "power cut %d: %s", i, rc == 0 ? m->power->counters[i] : err);
    return rc;
}

/* Peer i was just removed: it should notice and exit with status 0; one still running
 * after 2 s (it may never hear that the change committed) is switched off. */
static void retire(struct nemesis *m, int i)
{
    struct chaos_cluster *c = m->cluster;
    uint64_t deadline = chaos_now_ms() + 2000;
    int status;
    while (chaos_now_ms() < deadline) {
        if (chaos_cluster_exited(c, i, &status)) {
            if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
                note(m, "%s (removed) exited with status 0", c->peer[i].name);
                m->removed_exited++;
            } else {
                char what[200];
                snprintf(what, sizeof(what), "%s (removed) ended with wait status %d",
                         c->peer[i].name, status);
                if (m->unexpected_exits++ == 0)
                    snprintf(m->first_exit, sizeof(m->first_exit), "%s after %.1f s", what,
                             (double)(chaos_now_ms() - m->t0_ms) / 1000.0);
                note(m, "UNEXPECTED: %s", what);
            }
            return;
        }
        if (c->peer[i].pid <= 0)
            return; /* it was not running (killed by an earlier fault, not restarted yet) */
        chaos_sleep_ms(20);
    }
    note(m, "%s (removed) still running after 2 s: killed", c->peer[i].name);
    chaos_cluster_kill(c, i);
    m->removed_killed++;
}

static void watch_between(void *ctx, int ms)
{
    nemesis_watch(ctx, ms);
}

static int remove_member(struct nemesis *m, int i, char *err, size_t errlen)
{
    struct chaos_cluster *c = m->cluster;
    uint64_t t = chaos_now_ms();
    m->leaving = i; /* it may notice its removal before we hear that it committed */
    int rc = member_change(c, MEMBER_REMOVE, i, MEMBER_CHANGE_MS, watch_between, m,
                           &m->member_requests, err, errlen);
    m->leaving = 0;
    note(m, "remove %d: %s (%.1f s)", i, rc == 0 ? "committed" : err,
         (double)(chaos_now_ms() - t) / 1000.0);
    if (rc != 0)
        return -1;
    c->peer[i].member = false;
    m->removed++;
    retire(m, i);
    return 0;
}

/* A new machine under an old name: an empty data directory, --join, then add. */
static int add_member(struct nemesis *m, int i, char *err, size_t errlen)
{
    struct chaos_cluster *c = m->cluster;
    chaos_cluster_kill(c, i); /* a removed peer is dead already; this only reaps */
    if (chaos_cluster_wipe(c, i, err, errlen) != 0)
        return -1;
    c->peer[i].member = true;
    if (chaos_cluster_start(c, i, err, errlen) != 0)
        return -1;
    uint64_t t = chaos_now_ms();
    int rc = member_change(c, MEMBER_ADD, i, MEMBER_CHANGE_MS, watch_between, m,
                           &m->member_requests, err, errlen);
    note(m, "add %d (wiped, --join): %s (%.1f s)", i, rc == 0 ? "committed as a voter" : err,
         (double)(chaos_now_ms() - t) / 1000.0);
    if (rc == 0)
        m->added++;
    return rc;
}

/* Remove a random member, hold with one voter fewer, then the replacement joins. From 3
 * voters that leaves 2 for a while: both must live for anything to commit, which they do,
 * since no other fault runs meanwhile (one fault at a time) and the last one is healed. */
static int replace(struct nemesis *m, int hold_ms, char *err, size_t errlen)
{
    int members[CHAOS_MAX_PEERS];
    int n = chaos_cluster_members(m->cluster, members);
    int v = members[pick(m, n)];
    note(m, "replace %d", v);
    if (remove_member(m, v, err, errlen) != 0)
        return -1;
    nemesis_watch(m, hold_ms);
    return add_member(m, v, err, errlen);
}

/* Up to two spares join one at a time (3 -> 5 voters), hold, then as many random members
 * leave one at a time (back to 3), so that who is a member wanders over the whole ini. */
static int grow_shrink(struct nemesis *m, int hold_ms, char *err, size_t errlen)
{
    struct chaos_cluster *c = m->cluster;
    int spares[CHAOS_MAX_PEERS], nspares = 0;
    for (int i = 1; i <= c->n; i++)
        if (!c->peer[i].member)
            spares[nspares++] = i;
    for (int k = nspares - 1; k > 0; k--) {
        int j = pick(m, k + 1), t = spares[k];
        spares[k] = spares[j];
        spares[j] = t;
    }
    int grow = nspares < 2 ? nspares : 2;
    note(m, "grow by %d", grow);
    for (int k = 0; k < grow; k++)
        if (add_member(m, spares[k], err, errlen) != 0)
            return -1;
    nemesis_watch(m, hold_ms);
    note(m, "shrink by %d", grow);
    for (int k = 0; k < grow; k++) {
        int members[CHAOS_MAX_PEERS];
        int n = chaos_cluster_members(c, members);
        if (remove_member(m, members[pick(m, n)], err, errlen) != 0)
            return -1;
    }
    return 0;
}

static bool spare_exists(const struct chaos_cluster *c)
{
    for (int i = 1; i <= c->n; i++)
        if (!c->peer[i].member)
            return true;
    return false;
}

int nemesis_round(struct nemesis *m, int hold_ms, char *err, size_t errlen)
{
    struct chaos_cluster *c = m->cluster;
    /* The kinds this run can inject: network faults need the namespaces, power cuts
     * the lazyfs mounts, membership faults the run's consent (and growing a spare). */
    enum fault_kind kinds[FAULT_KINDS];
    int nkinds = 0;
    for (int k = 0; k < FAULT_KINDS; k++) {
        bool network =
            k == FAULT_ISOLATE || k == FAULT_SPLIT || k == FAULT_BRIDGE || k == FAULT_ONE_WAY;
        bool power = k == FAULT_POWER_CUT || k == FAULT_POWER_CUT_ALL || k == FAULT_RESTART_CUT;
        bool membership = k == FAULT_REPLACE || k == FAULT_GROW_SHRINK;
        if ((!network || m->nf->isolated) && (!power || (m->power && m->power->enabled)) &&
            (!membership || (m->membership && (k != FAULT_GROW_SHRINK || spare_exists(c)))))
            kinds[nkinds++] = (enum fault_kind)k;
    }
    enum fault_kind kind = kinds[pick(m, nkinds)];
    m->counts[kind]++;
    int side[CHAOS_MAX_PEERS + 1], order[CHAOS_MAX_PEERS];
    bool killed[CHAOS_MAX_PEERS + 1] = {false};
    for (int i = 0; i <= CHAOS_MAX_PEERS; i++)
        side[i] = -1;                        /* non-members are on no side */
    int n = chaos_cluster_members(c, order); /* the faults below act on members only */
    char desc[128];
    int rc = 0;
    switch (kind) {
    case FAULT_KILL: {
        int v = victim(m);
        note(m, "kill %d", v);
        chaos_cluster_kill(c, v);
        killed[v] = true;
        break;
    }
    case FAULT_KILL_MINORITY: {
        shuffle(m, order);
        int count = (n - 1) / 2 ? (n - 1) / 2 : 1;
        for (int k = 0; k < count; k++) {
            note(m, "kill %d (minority)", order[k]);
            chaos_cluster_kill(c, order[k]);
            killed[order[k]] = true;
        }
        break;
    }
    case FAULT_FREEZE: {
        int v = victim(m);
        note(m, "freeze %d", v);
        chaos_cluster_freeze(c, v, true);
        break;
    }
    case FAULT_ISOLATE: {
        int v = victim(m);
        for (int k = 0; k < n; k++)
            side[order[k]] = order[k] == v;
        describe_sides(m, side, 2, desc, sizeof(desc));
        note(m, "isolate %d: %s", v, desc);
        rc = cut_between(m, side, 0, 1, err, errlen);
        break;
    }
    case FAULT_SPLIT: {
        shuffle(m, order);
        for (int k = 0; k < n; k++)
            side[order[k]] = k < n / 2 ? 0 : 1;
        describe_sides(m, side, 2, desc, sizeof(desc));
        note(m, "split %s", desc);
        rc = cut_between(m, side, 0, 1, err, errlen);
        break;
    }
    case FAULT_BRIDGE: {
        /* Sides 0 and 2 cannot talk; side 1 (one peer) talks to both. */
        shuffle(m, order);
        for (int k = 0; k < n; k++)
            side[order[k]] = k == 0 ? 1 : (k % 2 ? 0 : 2);
        describe_sides(m, side, 3, desc, sizeof(desc));
        note(m, "bridge %s", desc);
        rc = cut_between(m, side, 0, 2, err, errlen);
        break;
    }
    case FAULT_ONE_WAY: {
        int links = 1 + pick(m, n);
        for (int k = 0; k < links && rc == 0; k++) {
            int f = pick(m, n), t = pick(m, n - 1);
            if (t >= f)
                t++;
            int from = order[f], to = order[t];
            note(m, "cut %d -> %d (one way)", from, to);
            rc = netfault_set_cut(m->nf, from, to, true, err, errlen);
        }
        break;
    }
    case FAULT_TRANSFER:
        rc = transfer(m);
        break;
    case FAULT_POWER_CUT: {
        int v = victim(m);
        chaos_cluster_kill(c, v);
        killed[v] = true;
        rc = power_cut(m, v, err, errlen);
        break;
    }
    case FAULT_POWER_CUT_ALL:
        /* Everyone dies before anyone's disk loses anything: one power cut for all. */
        for (int k = 0; k < n; k++) {
            chaos_cluster_kill(c, order[k]);
            killed[order[k]] = true;
        }
        for (int k = 0; k < n && rc == 0; k++)
            rc = power_cut(m, order[k], err, errlen);
        break;
    case FAULT_RESTART_CUT: {
        /* Aimed at a peer that trusts what it reloads: a kill leaves its last unsynced
         * writes in the page cache, the restarted peer loads them and acknowledges on
         * them, and a power cut soon after takes whatever open did not sync. */
        int v = victim(m);
        chaos_cluster_kill(c, v);
        rc = chaos_cluster_start(c, v, err, errlen);
        note(m, "kill %d, restart it at once%s", v, rc == 0 ? "" : " FAILED");
        if (rc != 0)
            break;
        struct timespec pause = {0, (50 + pick(m, 450)) * 1000000L};
        nanosleep(&pause, NULL);
        chaos_cluster_kill(c, v);
        killed[v] = true;
        rc = power_cut(m, v, err, errlen);
        break;
    }
    case FAULT_REPLACE:
        rc = replace(m, hold_ms, err, errlen);
        break;
    case FAULT_GROW_SHRINK:
        rc = grow_shrink(m, hold_ms, err, errlen);
        break;
    case FAULT_KINDS:
        break;
    }
    if (rc == 0 && kind != FAULT_TRANSFER && kind != FAULT_REPLACE && kind != FAULT_GROW_SHRINK)
        nemesis_watch(m, hold_ms);
    /* Heal what this round did (and anything else, which costs nothing). */
    for (int i = 1; i <= c->n; i++) {
        if (killed[i] && rc == 0) {
            rc = chaos_cluster_start(c, i, err, errlen);
            note(m, "restart %d%s", i, rc == 0 ? "" : " FAILED");
        }
    }
    int healed = netfault_cut_count(m->nf);
    char herr[256];
    if (netfault_heal_all(m->nf, herr, sizeof(herr)) != 0 && rc == 0) {
        snprintf(err, errlen, "%s", herr);
        rc = -1;
    }
    if (healed)
        note(m, "heal %d cut links", healed);
    for (int i = 1; i <= c->n; i++) {
        if (c->peer[i].frozen) {
            note(m, "thaw %d", i);
            chaos_cluster_freeze(c, i, false);
        }
    }
    return rc;
}

int nemesis_heal_all(struct nemesis *m, char *err, size_t errlen)
{
    int rc = netfault_heal_all(m->nf, err, errlen);
    for (int i = 1; i <= m->cluster->n; i++) {
        chaos_cluster_freeze(m->cluster, i, false);
        if (m->cluster->peer[i].member && m->cluster->peer[i].pid <= 0) {
            char e[256];
            if (chaos_cluster_start(m->cluster, i, e, sizeof(e)) != 0 && rc == 0) {
                snprintf(err, errlen, "%s", e);
                rc = -1;
            }
        }
    }
    note(m, "healed everything");
    return rc;
}
