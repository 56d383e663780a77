/* demo.c: a slow, simplified Raft (elections, replication, commit) that only exists to
 * feed the village in --demo mode through the same JSON the real peers send. */
#include "visualization/demo.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Ten times slower than the default ini, so a human can follow every step. */
#define HEARTBEAT_MS    400
#define ELECTION_MIN_MS 1800
#define ELECTION_MAX_MS 3600
#define LATENCY_MIN_MS  60
#define LATENCY_MAX_MS  160
#define STATE_EVERY_MS  100
#define COMMAND_MIN_MS  2500
#define COMMAND_MAX_MS  6000

static const char *const var_names[DEMO_N_VARS] = {"wheat", "apples", "fish", "wool"};

static uint32_t rnd(struct demo *d)
{
    uint32_t x = d->rng ? d->rng : 0x2545f491u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    d->rng = x;
    return x;
}

static uint64_t rnd_between(struct demo *d, uint64_t lo, uint64_t hi)
{
    return lo + rnd(d) % (uint32_t)(hi - lo + 1);
}

static void name_of(int slot, char *buf, size_t len)
{
    snprintf(buf, len, "peer%d", slot + 1);
}

static void event(struct demo *d, int slot, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void event(struct demo *d, int slot, const char *fmt, ...)
{
    char text[160], json[320], name[16];
    va_list ap;
    int n;

    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    name_of(slot, name, sizeof name);
    n = snprintf(json, sizeof json,
                 "{\"type\":\"event\",\"peer\":\"%s\",\"term\":%" PRIu64 ",\"text\":\"%s\"}", name,
                 d->peers[slot].term, text);
    if (n > 0 && (size_t)n < sizeof json)
        d->emit(d->emit_ctx, json, (size_t)n);
}

static uint64_t term_at(const struct demo_peer *p, uint64_t index)
{
    return index == 0 || index > p->n_log ? 0 : p->log[index - 1].term;
}

static void reset_timer(struct demo *d, int slot, uint64_t now)
{
    d->peers[slot].election_start_ms = now;
    d->peers[slot].election_deadline_ms = now + rnd_between(d, ELECTION_MIN_MS, ELECTION_MAX_MS);
}

static void post(struct demo *d, struct demo_msg m, uint64_t now)
{
    char json[320], from[16], to[16];
    int n;

    if (d->n_msgs >= DEMO_MAX_MSGS)
        return;
    m.deliver_ms = now + rnd_between(d, LATENCY_MIN_MS, LATENCY_MAX_MS);
    d->msgs[d->n_msgs++] = m;
    name_of(m.from, from, sizeof from);
    name_of(m.to, to, sizeof to);
    n = snprintf(json, sizeof json,
                 "{\"type\":\"msg\",\"from\":\"%s\",\"to\":\"%s\",\"rpc\":\"%s\",\"term\":%" PRIu64
                 ",\"n_entries\":%u,\"success\":%s,\"vote_granted\":%s,\"pre_vote\":false}",
                 from, to, village_rpc_name((enum village_rpc)m.type), m.term, m.n_entries,
                 m.ok ? "true" : "false", m.ok ? "true" : "false");
    if (n > 0 && (size_t)n < sizeof json)
        d->emit(d->emit_ctx, json, (size_t)n);
}

static void become_follower(struct demo *d, int slot, uint64_t term, uint64_t now)
{
    struct demo_peer *p = &d->peers[slot];

    if (term > p->term) {
        p->term = term;
        p->voted_for = -1;
        p->leader = -1;
    }
    if (p->role != VILLAGE_FOLLOWER && p->role != VILLAGE_ROLE_UNKNOWN)
        event(d, slot, "steps down to follower in term %" PRIu64, p->term);
    p->role = VILLAGE_FOLLOWER;
    reset_timer(d, slot, now);
}

static void send_append(struct demo *d, int leader, int to, uint64_t now)
{
    struct demo_peer *p = &d->peers[leader];
    struct demo_msg m = {0};
    uint64_t next = p->next_index[to];

    m.from = leader;
    m.to = to;
    m.type = DEMO_AE;
    m.term = p->term;
    m.prev_index = next - 1;
    m.prev_term = term_at(p, next - 1);
    m.commit = p->commit;
    for (uint64_t i = next; i <= p->n_log && m.n_entries < 8; i++)
        m.entries[m.n_entries++] = p->log[i - 1];
    post(d, m, now);
}

static void append_local(struct demo_peer *p, struct demo_entry e)
{
    if (p->n_log < DEMO_LOG_MAX)
        p->log[p->n_log++] = e;
}

static void become_leader(struct demo *d, int slot, uint64_t now)
{
    struct demo_peer *p = &d->peers[slot];

    p->role = VILLAGE_LEADER;
    p->leader = slot;
    for (int i = 0; i < d->n; i++) {
        p->next_index[i] = p->n_log + 1;
        p->match_index[i] = 0;
    }
    /* §8: a new leader commits an entry of its own term. */
    append_local(p, (struct demo_entry){.term = p->term, .var = -1});
    event(d, slot, "won the election: leader for term %" PRIu64, p->term);
    p->next_heartbeat_ms = now;
}

static void start_election(struct demo *d, int slot, uint64_t now)
{
    struct demo_peer *p = &d->peers[slot];

    p->term++;
    p->role = VILLAGE_CANDIDATE;
    p->voted_for = slot;
    p->leader = -1;
    p->votes = 1;
    reset_timer(d, slot, now);
    event(d, slot, "timed out, starts an election for term %" PRIu64, p->term);
    for (int i = 0; i < d->n; i++) {
        if (i == slot)
            continue;
        post(d,
             (struct demo_msg){.from = slot,
                               .to = i,
                               .type = DEMO_RV,
                               .term = p->term,
                               .last_index = p->n_log,
                               .last_term = term_at(p, p->n_log)},
             now);
    }
    if (p->votes * 2 > d->n)
        become_leader(d, slot, now);
}

static void apply_committed(struct demo_peer *p)
{
    while (p->applied < p->commit && p->applied < p->n_log) {
        const struct demo_entry *e = &p->log[p->applied++];
        if (e->var >= 0 && e->var < DEMO_N_VARS) {
            p->vars[e->var] += e->delta;
            p->var_set[e->var] = true;
        }
    }
}

static void advance_commit(struct demo *d, int slot)
{
    struct demo_peer *p = &d->peers[slot];

    for (uint64_t idx = p->n_log; idx > p->commit; idx--) {
        int count = 1;
        if (term_at(p, idx) != p->term)
            break; /* Figure 8: only entries of the current term commit by counting */
        for (int i = 0; i < d->n; i++)
            if (i != slot && p->match_index[i] >= idx)
                count++;
        if (count * 2 > d->n) {
            p->commit = idx;
            event(d, slot, "committed up to index %" PRIu64, idx);
            break;
        }
    }
    apply_committed(p);
}

static void deliver(struct demo *d, const struct demo_msg *m, uint64_t now)
{
    struct demo_peer *p = &d->peers[m->to];
    struct demo_msg r = {.from = m->to, .to = m->from};

    if (!p->alive)
        return;
    if (m->term > p->term)
        become_follower(d, m->to, m->term, now);
    r.term = p->term;
    switch (m->type) {
    case DEMO_RV: {
        bool up_to_date = m->last_term > term_at(p, p->n_log) ||
                          (m->last_term == term_at(p, p->n_log) && m->last_index >= p->n_log);
        r.type = DEMO_RV_RESULT;
        r.ok = m->term == p->term && (p->voted_for < 0 || p->voted_for == m->from) && up_to_date;
        if (r.ok && p->voted_for != m->from) {
            char name[16];
            p->voted_for = m->from;
            reset_timer(d, m->to, now);
            name_of(m->from, name, sizeof name);
            event(d, m->to, "votes for %s in term %" PRIu64, name, p->term);
        }
        post(d, r, now);
        break;
    }
    case DEMO_RV_RESULT:
        if (p->role == VILLAGE_CANDIDATE && m->term == p->term && m->ok) {
            p->votes++;
            if (p->votes * 2 > d->n)
                become_leader(d, m->to, now);
        }
        break;
    case DEMO_AE:
        r.type = DEMO_AE_RESULT;
        if (m->term < p->term) {
            r.ok = false;
            post(d, r, now);
            break;
        }
        if (p->role != VILLAGE_FOLLOWER)
            become_follower(d, m->to, m->term, now);
        p->leader = m->from;
        reset_timer(d, m->to, now);
        if (m->prev_index > p->n_log || term_at(p, m->prev_index) != m->prev_term) {
            r.ok = false;
            r.match_index = m->prev_index > 0 ? m->prev_index - 1 : 0;
            post(d, r, now);
            break;
        }
        for (uint32_t i = 0; i < m->n_entries; i++) {
            uint64_t idx = m->prev_index + 1 + i;
            if (idx <= p->n_log && term_at(p, idx) != m->entries[i].term)
                p->n_log = idx - 1; /* conflict: drop it and everything after */
            if (idx > p->n_log)
                append_local(p, m->entries[i]);
        }
        if (m->commit > p->commit) {
            uint64_t last_new = m->prev_index + m->n_entries;
            p->commit = m->commit < last_new ? m->commit : last_new;
            if (p->commit > p->n_log)
                p->commit = p->n_log;
            apply_committed(p);
        }
        r.ok = true;
        r.match_index = m->prev_index + m->n_entries;
        post(d, r, now);
        break;
    case DEMO_AE_RESULT:
        if (p->role != VILLAGE_LEADER || m->term != p->term)
            break;
        if (m->ok) {
            if (m->match_index > p->match_index[m->from])
                p->match_index[m->from] = m->match_index;
            p->next_index[m->from] = p->match_index[m->from] + 1;
            advance_commit(d, m->to);
        } else if (p->next_index[m->from] > 1) {
            p->next_index[m->from]--;
        }
        break;
    case DEMO_TIMEOUT_NOW:
        if (m->term == p->term)
            start_election(d, m->to, now);
        break;
    }
}

static void emit_state(struct demo *d, int slot, uint64_t now)
{
    const struct demo_peer *p = &d->peers[slot];
    char json[4096], name[16], vote[24], lead[24];
    size_t off = 0;
    uint64_t tail_start = p->n_log > 32 ? p->n_log - 31 : 1;
    unsigned progress = 0;
    int nv = 0;

#define PUT(...)                                                                                   \
    do {                                                                                           \
        int w_ = snprintf(json + off, sizeof json - off, __VA_ARGS__);                             \
        if (w_ < 0 || (size_t)w_ >= sizeof json - off)                                             \
            return;                                                                                \
        off += (size_t)w_;                                                                         \
    } while (0)

    name_of(slot, name, sizeof name);
    if (p->voted_for >= 0)
        snprintf(vote, sizeof vote, "\"peer%d\"", p->voted_for + 1);
    else
        snprintf(vote, sizeof vote, "null");
    if (p->leader >= 0)
        snprintf(lead, sizeof lead, "\"peer%d\"", p->leader + 1);
    else
        snprintf(lead, sizeof lead, "null");
    if (p->role != VILLAGE_LEADER && p->election_deadline_ms > p->election_start_ms) {
        uint64_t span = p->election_deadline_ms - p->election_start_ms;
        uint64_t gone = now > p->election_start_ms ? now - p->election_start_ms : 0;
        progress = gone >= span ? 1000 : (unsigned)(gone * 1000 / span);
    }
    PUT("{\"type\":\"state\",\"peer\":\"%s\",\"id\":%d,\"n\":%d,\"pid\":%ld,\"time_ms\":%" PRIu64
        ",\"role\":\"%s\",\"term\":%" PRIu64 ",\"voted_for\":%s,\"leader\":%s,\"first_index\":1,"
        "\"last_index\":%" PRIu64 ",\"commit_index\":%" PRIu64 ",\"last_applied\":%" PRIu64
        ",\"persisted_index\":%" PRIu64 ",\"election_progress\":%u,\"log_tail_start\":%" PRIu64
        ",\"log_tail_terms\":[",
        name, slot + 1, d->n, p->pid, now, village_role_name(p->role), p->term, vote, lead,
        p->n_log, p->commit, p->applied, p->n_log, progress, tail_start);
    for (uint64_t i = tail_start; i <= p->n_log; i++)
        PUT("%s%" PRIu64, i == tail_start ? "" : ",", p->log[i - 1].term);
    PUT("],\"vars\":{");
    for (int i = 0; i < DEMO_N_VARS; i++)
        if (p->var_set[i])
            PUT("%s\"%s\":%" PRId64, nv++ ? "," : "", var_names[i], p->vars[i]);
    PUT("},\"n_vars\":%d,\"followers\":[", nv);
    if (p->role == VILLAGE_LEADER) {
        int k = 0;
        for (int i = 0; i < d->n; i++)
            if (i != slot)
                PUT("%s{\"peer\":\"peer%d\",\"next_index\":%" PRIu64 ",\"match_index\":%" PRIu64
                    "}",
                    k++ ? "," : "", i + 1, p->next_index[i], p->match_index[i]);
    }
    PUT("],\"stopped\":false}");
#undef PUT
    d->emit(d->emit_ctx, json, off);
}

void demo_init(struct demo *d, int n, uint32_t seed, uint64_t now_ms, demo_emit_fn emit, void *ctx)
{
    memset(d, 0, sizeof *d);
    d->n = n < 1 ? 1 : n > VILLAGE_MAX_PEERS ? VILLAGE_MAX_PEERS : n;
    d->rng = seed ? seed : 1;
    d->emit = emit;
    d->emit_ctx = ctx;
    for (int i = 0; i < d->n; i++) {
        struct demo_peer *p = &d->peers[i];
        p->alive = true;
        p->pid = 40000 + i;
        p->role = VILLAGE_FOLLOWER;
        p->voted_for = p->leader = -1;
        reset_timer(d, i, now_ms);
    }
    d->next_command_ms = now_ms + COMMAND_MIN_MS;
}

void demo_step(struct demo *d, uint64_t now_ms)
{
    /* Deliver what is due, in order of arrival. */
    for (;;) {
        int best = -1;
        struct demo_msg m;
        for (int i = 0; i < d->n_msgs; i++)
            if (d->msgs[i].deliver_ms <= now_ms &&
                (best < 0 || d->msgs[i].deliver_ms < d->msgs[best].deliver_ms))
                best = i;
        if (best < 0)
            break;
        m = d->msgs[best];
        d->msgs[best] = d->msgs[--d->n_msgs];
        deliver(d, &m, now_ms);
    }
    for (int i = 0; i < d->n; i++) {
        struct demo_peer *p = &d->peers[i];
        if (!p->alive)
            continue;
        if (p->role == VILLAGE_LEADER) {
            if (now_ms >= p->next_heartbeat_ms) {
                for (int f = 0; f < d->n; f++)
                    if (f != i)
                        send_append(d, i, f, now_ms);
                p->next_heartbeat_ms = now_ms + HEARTBEAT_MS;
                advance_commit(d, i);
            }
        } else if (now_ms >= p->election_deadline_ms) {
            start_election(d, i, now_ms);
        }
    }
    if (now_ms >= d->next_command_ms) {
        char result[128];
        demo_submit(d, now_ms, result, sizeof result);
        d->next_command_ms = now_ms + rnd_between(d, COMMAND_MIN_MS, COMMAND_MAX_MS);
    }
    if (now_ms >= d->next_state_ms) {
        for (int i = 0; i < d->n; i++)
            if (d->peers[i].alive)
                emit_state(d, i, now_ms);
        d->next_state_ms = now_ms + STATE_EVERY_MS;
    }
}

void demo_crash(struct demo *d, int slot, uint64_t now_ms)
{
    (void)now_ms;
    if (slot < 0 || slot >= d->n)
        return;
    d->peers[slot].alive = false;
    /* Its messages still on the wire would arrive; a power cut loses its queue too. */
    for (int i = 0; i < d->n_msgs;) {
        if (d->msgs[i].from == slot || d->msgs[i].to == slot)
            d->msgs[i] = d->msgs[--d->n_msgs];
        else
            i++;
    }
}

void demo_revive(struct demo *d, int slot, uint64_t now_ms)
{
    struct demo_peer *p;

    if (slot < 0 || slot >= d->n || d->peers[slot].alive)
        return;
    p = &d->peers[slot];
    /* Term, vote and log are durable; the rest starts over, as after a real restart. */
    p->alive = true;
    p->pid += 100;
    p->role = VILLAGE_FOLLOWER;
    p->leader = -1;
    p->commit = p->applied = 0;
    memset(p->vars, 0, sizeof p->vars);
    memset(p->var_set, 0, sizeof p->var_set);
    reset_timer(d, slot, now_ms);
    event(d, slot, "started: term %" PRIu64 ", %" PRIu64 " entries recovered", p->term, p->n_log);
}

int demo_transfer(struct demo *d, int target, uint64_t now_ms)
{
    for (int i = 0; i < d->n; i++) {
        struct demo_peer *p = &d->peers[i];
        if (p->alive && p->role == VILLAGE_LEADER && i != target && target >= 0 && target < d->n) {
            post(d,
                 (struct demo_msg){
                     .from = i, .to = target, .type = DEMO_TIMEOUT_NOW, .term = p->term},
                 now_ms);
            return 0;
        }
    }
    return -1;
}

int demo_submit(struct demo *d, uint64_t now_ms, char *result, size_t len)
{
    (void)now_ms;
    for (int i = 0; i < d->n; i++) {
        struct demo_peer *p = &d->peers[i];
        if (p->alive && p->role == VILLAGE_LEADER && p->n_log < DEMO_LOG_MAX) {
            struct demo_entry e = {.term = p->term,
                                   .var = (int)(rnd(d) % DEMO_N_VARS),
                                   .delta = (int64_t)(1 + rnd(d) % 9)};
            append_local(p, e);
            snprintf(result, len, "peer%d takes \"%s add %" PRId64 "\" as entry %" PRIu64, i + 1,
                     var_names[e.var], e.delta, p->n_log);
            return 0;
        }
    }
    snprintf(result, len, "no leader to take the command");
    return -1;
}
