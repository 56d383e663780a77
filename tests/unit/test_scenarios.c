/* test_scenarios.c: data-driven scenario tests of the Raft core (tests/scenarios/ *.txt).
 *
 * A scenario file is a list of commands run against an in-memory cluster of real
 * raft cores: every peer has its own manual clock, messages wait in one queue until
 * a command delivers or drops them, and each ready is persisted at once to an
 * in-memory "disk" that survives `crash`/`restart` (or, for a peer on a manual disk,
 * held until `sync`, and lost in a crash). Indented lines under a command are
 * the exact output that command must print (messages sent, role changes, commits...);
 * a mismatch fails the test with a diff. docs/SCENARIOS.md describes the language.
 *
 * Set RAFT_SCENARIO_REWRITE=1 to write the actual output back into the files (review
 * the diff before committing it: the file is the specification, not a recording).
 */
#include <criterion/criterion.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "raft_peer/core/raft.h"

#define SC_MAX_FILE          (1u << 20) /* a scenario file is hand-written: 1 MiB is plenty */
#define SC_MAX_TOKENS        64
#define SC_MAX_LOG           100000      /* entries in one log, on disk or in a message */
#define SC_MAX_READS         64          /* read requests remembered per peer */
#define SC_GUARD             100000      /* bound on loops that wait for the core to settle */
#define SC_MAX_MS            1000000000u /* a bound on any duration, so clocks cannot overflow */
#define SC_DEFAULT_ELECTION  1000
#define SC_DEFAULT_HEARTBEAT 100

/* ------------------------------------------------------------------------- */
/* Growable text buffer: command output, diffs, rewritten files.              */

struct text {
    char *buf;
    size_t len;
    size_t cap;
};

static void text_vprintf(struct text *t, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return;
    if (t->len + (size_t)n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap < t->len + (size_t)n + 1)
            cap *= 2;
        char *b = realloc(t->buf, cap);
        if (!b)
            abort(); /* a test harness cannot do anything useful without memory */
        t->buf = b;
        t->cap = cap;
    }
    vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
    t->len += (size_t)n;
}

__attribute__((format(printf, 2, 3))) static void text_printf(struct text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    text_vprintf(t, fmt, ap);
    va_end(ap);
}

static void text_free(struct text *t)
{
    free(t->buf);
    memset(t, 0, sizeof(*t));
}

/* Splits a buffer into lines in place; returns how many, pointers into buf. */
static size_t split_lines(char *buf, char ***lines_out)
{
    size_t n = 0, cap = 16;
    char **lines = malloc(cap * sizeof(*lines));
    if (!lines)
        abort();
    char *s = buf;
    while (s && *s) {
        char *nl = strchr(s, '\n');
        if (nl)
            *nl = '\0';
        if (n == cap) {
            cap *= 2;
            lines = realloc(lines, cap * sizeof(*lines));
            if (!lines)
                abort();
        }
        lines[n++] = s;
        s = nl ? nl + 1 : NULL;
    }
    *lines_out = lines;
    return n;
}

static void rtrim(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
}

/* ------------------------------------------------------------------------- */
/* The in-memory cluster.                                                     */

/* What survives a crash: written synchronously from each ready. */
struct disk {
    raft_term term;
    raft_id vote;
    struct raft_entry *entries; /* entries[0] is index 1 */
    size_t n;
    size_t cap;
};

enum read_state { READ_PENDING, READ_WAITING, READ_SERVED, READ_FAILED };

struct read_req {
    uint64_t ctx;
    raft_index index; /* known once the core answers */
    enum read_state state;
};

/* A ready whose writes wait for `sync` (manual disk): its own copies, since the
 * ready itself is only borrowed. */
struct held_write {
    uint64_t seq;
    bool hard_state_changed;
    raft_term term;
    raft_id vote;
    bool log_changed;
    raft_index persist_from;
    struct raft_entry *entries;
    size_t n_entries;
    struct raft_message *after; /* messages that may leave only once this is durable */
    size_t n_after;
};

struct cluster;

struct peer {
    raft_id id;
    struct cluster *c;
    struct raft *r;    /* NULL before boot and while crashed */
    raft_time now;     /* this peer's own clock: only differences within a peer matter */
    raft_time timeout; /* pinned election timeout (min == max) */
    struct disk disk;
    raft_index applied; /* last index handed to the state machine */
    struct text cmds;   /* applied command payloads, one per line (volatile) */
    unsigned elections; /* ELECTION_START traces seen, to tell `campaign` it fired */
    struct read_req reads[SC_MAX_READS];
    size_t n_reads;
    bool manual_disk;        /* writes wait for `sync` and die in a crash */
    struct held_write *held; /* oldest first */
    size_t n_held;
};

struct queued {
    uint64_t id;
    struct raft_message m; /* deep copy: the sender's ready is only borrowed */
};

struct cluster {
    int n;      /* 0 until `cluster` */
    int voters; /* peers 1..voters bootstrap as voters; the others join (empty configuration) */
    bool booted;
    struct raft_config base;
    struct peer peers[RAFT_MAX_PEERS + 1]; /* by id; [0] unused */
    bool cut[RAFT_MAX_PEERS + 1][RAFT_MAX_PEERS + 1];
    struct queued *queue;
    size_t qlen;
    size_t qcap;
    uint64_t next_msg_id;
    struct text *out; /* where the current command prints */
    bool events;      /* print trace events (role changes, commits...) */
    /* Invariants checked after every ready, across the whole run. */
    raft_id *leader_of_term; /* Figure 3, Election Safety */
    size_t n_leader_terms;
    raft_term *committed; /* State Machine Safety: term of each committed index, 0 unknown */
    size_t n_committed;
    char err[1024];
};

__attribute__((format(printf, 2, 3))) static int fail(struct cluster *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof(c->err), fmt, ap);
    va_end(ap);
    return -1;
}

static void entry_free(struct raft_entry *e)
{
    free(e->data);
    e->data = NULL;
}

static int entry_copy(struct raft_entry *dst, const struct raft_entry *src)
{
    *dst = *src;
    dst->data = NULL;
    if (src->len == 0)
        return 0;
    if (!src->data)
        return -1;
    dst->data = malloc(src->len);
    if (!dst->data)
        abort();
    memcpy(dst->data, src->data, src->len);
    return 0;
}

static void disk_truncate(struct disk *d, size_t n)
{
    while (d->n > n)
        entry_free(&d->entries[--d->n]);
}

static int disk_append(struct disk *d, const struct raft_entry *e)
{
    if (d->n >= SC_MAX_LOG)
        return -1;
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 16;
        struct raft_entry *es = realloc(d->entries, cap * sizeof(*es));
        if (!es)
            abort();
        d->entries = es;
        d->cap = cap;
    }
    if (entry_copy(&d->entries[d->n], e) != 0)
        return -1;
    d->n++;
    return 0;
}

static void message_free(struct raft_message *m)
{
    if (m->type == RAFT_MSG_APPEND_ENTRIES) {
        for (uint32_t i = 0; i < m->u.append_entries.n_entries; i++)
            entry_free(&m->u.append_entries.entries[i]);
        free(m->u.append_entries.entries);
        m->u.append_entries.entries = NULL;
        m->u.append_entries.n_entries = 0;
    }
}

static int message_copy(struct raft_message *dst, const struct raft_message *src)
{
    *dst = *src;
    if (src->type != RAFT_MSG_APPEND_ENTRIES)
        return 0;
    uint32_t n = src->u.append_entries.n_entries;
    dst->u.append_entries.entries = NULL;
    dst->u.append_entries.n_entries = 0;
    if (n == 0)
        return 0;
    if (n > SC_MAX_LOG || !src->u.append_entries.entries)
        return -1;
    struct raft_entry *es = calloc(n, sizeof(*es));
    if (!es)
        abort();
    for (uint32_t i = 0; i < n; i++) {
        if (entry_copy(&es[i], &src->u.append_entries.entries[i]) != 0) {
            for (uint32_t j = 0; j < i; j++)
                entry_free(&es[j]);
            free(es);
            return -1;
        }
    }
    dst->u.append_entries.entries = es;
    dst->u.append_entries.n_entries = n;
    return 0;
}

/* ------------------------------------------------------------------------- */
/* How things print. These strings are the scenario language: keep them stable. */

static const char *role_str(enum raft_role role)
{
    switch (role) {
    case RAFT_FOLLOWER:
        return "follower";
    case RAFT_PRE_CANDIDATE:
        return "pre_candidate";
    case RAFT_CANDIDATE:
        return "candidate";
    case RAFT_LEADER:
        return "leader";
    }
    return "?";
}

static const char *vote_reason_str(uint64_t reason)
{
    switch (reason) {
    case RAFT_VOTE_OK:
        return "ok";
    case RAFT_VOTE_STALE_TERM:
        return "stale_term";
    case RAFT_VOTE_ALREADY_VOTED:
        return "already_voted";
    case RAFT_VOTE_LOG_BEHIND:
        return "log_behind";
    case RAFT_VOTE_LEADER_ALIVE:
        return "leader_alive";
    }
    return "?";
}

static const char *step_down_str(uint64_t reason)
{
    switch (reason) {
    case RAFT_STEP_DOWN_HIGHER_TERM:
        return "higher_term";
    case RAFT_STEP_DOWN_CHECK_QUORUM:
        return "check_quorum";
    case RAFT_STEP_DOWN_STOPPED:
        return "stopped";
    case RAFT_STEP_DOWN_TRANSFERRED:
        return "transferred";
    case RAFT_STEP_DOWN_REMOVED:
        return "removed";
    }
    return "?";
}

/* A configuration as "1,2,3/4": voters, a slash, learners. */
static void print_configuration(struct text *t, const struct raft_configuration *conf)
{
    const char *sep = "";
    for (raft_id id = 1; id <= RAFT_MAX_PEERS; id++)
        if (raft_configuration_is_voter(conf, id)) {
            text_printf(t, "%s%d", sep, id);
            sep = ",";
        }
    text_printf(t, "/");
    sep = "";
    for (raft_id id = 1; id <= RAFT_MAX_PEERS; id++)
        if (raft_configuration_is_learner(conf, id)) {
            text_printf(t, "%s%d", sep, id);
            sep = ",";
        }
}

/* Printable payloads show as-is; anything else as a byte count, so output stays one line. */
static void print_payload(struct text *t, const uint8_t *data, uint32_t len)
{
    bool plain = len > 0 && len <= 64;
    for (uint32_t i = 0; plain && i < len; i++)
        plain = isgraph(data[i]) && data[i] != ']' && data[i] != '[';
    if (plain)
        text_printf(t, "%.*s", (int)len, (const char *)data);
    else
        text_printf(t, "<%" PRIu32 " bytes>", len);
}

static void print_entries(struct text *t, const struct raft_entry *es, size_t n)
{
    text_printf(t, "[");
    for (size_t i = 0; i < n; i++) {
        text_printf(t, "%s%" PRIu64, i ? " " : "", es[i].term);
        struct raft_configuration conf;
        if (es[i].type == RAFT_ENTRY_CONFIG &&
            raft_configuration_decode(es[i].data, es[i].len, &conf) == RAFT_OK) {
            text_printf(t, ":conf{");
            print_configuration(t, &conf);
            text_printf(t, "}");
        } else if (es[i].len > 0) {
            text_printf(t, ":");
            print_payload(t, es[i].data, es[i].len);
        }
    }
    text_printf(t, "]");
}

static void print_message(struct text *t, const struct raft_message *m)
{
    text_printf(t, "%d->%d ", m->from, m->to);
    switch (m->type) {
    case RAFT_MSG_REQUEST_VOTE: {
        const struct raft_request_vote *v = &m->u.request_vote;
        text_printf(t, "%s term=%" PRIu64 " last=%" PRIu64 "/%" PRIu64 "%s",
                    v->pre_vote ? "pre_vote" : "request_vote", m->term, v->last_log_index,
                    v->last_log_term, v->leadership_transfer ? " transfer" : "");
        break;
    }
    case RAFT_MSG_REQUEST_VOTE_RESULT: {
        const struct raft_request_vote_result *v = &m->u.request_vote_result;
        text_printf(t, "%s term=%" PRIu64 " %s", v->pre_vote ? "pre_vote_result" : "vote_result",
                    m->term, v->vote_granted ? "granted" : "rejected");
        break;
    }
    case RAFT_MSG_APPEND_ENTRIES: {
        const struct raft_append_entries *a = &m->u.append_entries;
        text_printf(t,
                    "append_entries term=%" PRIu64 " prev=%" PRIu64 "/%" PRIu64 " commit=%" PRIu64
                    " entries=",
                    m->term, a->prev_log_index, a->prev_log_term, a->leader_commit);
        print_entries(t, a->entries, a->n_entries);
        if (a->read_round)
            text_printf(t, " read=%" PRIu64, a->read_round);
        break;
    }
    case RAFT_MSG_APPEND_ENTRIES_RESULT: {
        const struct raft_append_entries_result *a = &m->u.append_entries_result;
        if (a->success)
            text_printf(t, "append_result term=%" PRIu64 " ok match=%" PRIu64, m->term,
                        a->match_index);
        else
            text_printf(t,
                        "append_result term=%" PRIu64 " reject rejected=%" PRIu64
                        " conflict_term=%" PRIu64 " conflict_index=%" PRIu64 " last=%" PRIu64,
                        m->term, a->rejected_index, a->conflict_term, a->conflict_index,
                        a->last_log_index);
        if (a->read_round)
            text_printf(t, " read=%" PRIu64, a->read_round);
        break;
    }
    case RAFT_MSG_TIMEOUT_NOW:
        text_printf(t, "timeout_now term=%" PRIu64 " last=%" PRIu64, m->term,
                    m->u.timeout_now.last_log_index);
        break;
    default:
        text_printf(t, "unknown_type_%d term=%" PRIu64, (int)m->type, m->term);
        break;
    }
}

static void on_trace(void *ctx, const struct raft_trace *tr)
{
    struct peer *p = ctx;
    struct cluster *c = p->c;
    if (tr->type == RAFT_TRACE_ELECTION_START)
        p->elections++;
    if (!c->events || !c->out)
        return;
    struct text *t = c->out;
    switch (tr->type) {
    case RAFT_TRACE_ROLE:
        /* Becoming a (pre-)candidate shows as the election it starts, below. */
        if (tr->a == RAFT_FOLLOWER || tr->a == RAFT_LEADER)
            text_printf(t, "%d becomes %s at term %" PRIu64 "\n", p->id,
                        role_str((enum raft_role)tr->a), tr->term);
        break;
    case RAFT_TRACE_ELECTION_START:
        text_printf(t, "%d starts %s for term %" PRIu64 "\n", p->id,
                    tr->b ? "pre-vote" : "election", tr->a);
        break;
    case RAFT_TRACE_VOTE:
        if (!tr->a) /* granted votes show as vote_result messages */
            text_printf(t, "%d refuses %s to %d: %s\n", p->id, tr->b ? "pre_vote" : "vote",
                        tr->peer, vote_reason_str(tr->c));
        break;
    case RAFT_TRACE_COMMIT:
        text_printf(t, "%d commit %" PRIu64 " -> %" PRIu64 "\n", p->id, tr->b, tr->a);
        break;
    case RAFT_TRACE_TRUNCATE:
        text_printf(t, "%d truncates %" PRIu64 "..%" PRIu64 "\n", p->id, tr->a, tr->b);
        break;
    case RAFT_TRACE_STEP_DOWN:
        text_printf(t, "%d steps down: %s\n", p->id, step_down_str(tr->a));
        break;
    case RAFT_TRACE_PEER_ACTIVE:
        text_printf(t, "%d hears from %d again\n", p->id, tr->peer);
        break;
    case RAFT_TRACE_PEER_INACTIVE:
        text_printf(t, "%d lost contact with %d\n", p->id, tr->peer);
        break;
    case RAFT_TRACE_TRANSFER:
        text_printf(t, "%d %s leadership transfer to %d\n", p->id, tr->a ? "starts" : "aborts",
                    tr->peer);
        break;
    case RAFT_TRACE_CONFIGURATION: {
        struct raft_configuration conf = {(uint32_t)tr->a, (uint32_t)tr->b};
        text_printf(t, "%d uses configuration ", p->id);
        print_configuration(t, &conf);
        if (tr->c)
            text_printf(t, " of index %" PRIu64 "\n", tr->c);
        else
            text_printf(t, " of its snapshot or bootstrap\n");
        break;
    }
    case RAFT_TRACE_CAUGHT_UP:
        text_printf(t, "%d sees learner %d caught up in round %" PRIu64 "\n", p->id, tr->peer,
                    tr->a);
        break;
    default: /* terms, leaders and vote tallies show through messages and `expect` */
        break;
    }
}

/* ------------------------------------------------------------------------- */
/* Invariants (Figure 3) checked after every ready, whatever the scenario.     */

static int check_invariants(struct cluster *c)
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

/* ------------------------------------------------------------------------- */
/* Network.                                                                   */

static bool peer_up(const struct cluster *c, raft_id id)
{
    return id >= 1 && id <= c->n && c->peers[id].r != NULL;
}

static int net_send(struct cluster *c, const struct raft_message *m, raft_id sender)
{
    if (m->from != sender)
        return fail(c, "peer %d sent a message claiming to be from %d", sender, m->from);
    if (m->to < 1 || m->to > c->n || m->to == sender)
        return fail(c, "peer %d sent a message to invalid peer %d", sender, m->to);
    print_message(c->out, m);
    if (!peer_up(c, m->to) || c->cut[m->from][m->to]) {
        text_printf(c->out, " (dropped)\n");
        return 0;
    }
    text_printf(c->out, "\n");
    if (c->qlen == c->qcap) {
        size_t cap = c->qcap ? c->qcap * 2 : 64;
        struct queued *q = realloc(c->queue, cap * sizeof(*q));
        if (!q)
            abort();
        c->queue = q;
        c->qcap = cap;
    }
    struct queued *q = &c->queue[c->qlen];
    if (message_copy(&q->m, m) != 0)
        return fail(c, "peer %d sent a malformed message", sender);
    q->id = c->next_msg_id++;
    c->qlen++;
    return 0;
}

static void queue_remove(struct cluster *c, size_t i, struct raft_message *out)
{
    *out = c->queue[i].m;
    memmove(&c->queue[i], &c->queue[i + 1], (c->qlen - i - 1) * sizeof(c->queue[0]));
    c->qlen--;
}

/* A from->to filter: 0 stands for "*". */
struct filter {
    raft_id from;
    raft_id to;
};

static bool filter_match(const struct filter *f, const struct raft_message *m)
{
    return (f->from == 0 || f->from == m->from) && (f->to == 0 || f->to == m->to);
}

/* Removes queued messages matching f (all of them), printing each as dropped. */
static void net_drop(struct cluster *c, const struct filter *f)
{
    for (size_t i = 0; i < c->qlen;) {
        if (!filter_match(f, &c->queue[i].m)) {
            i++;
            continue;
        }
        struct raft_message m;
        queue_remove(c, i, &m);
        print_message(c->out, &m);
        text_printf(c->out, " (dropped)\n");
        message_free(&m);
    }
}

/* ------------------------------------------------------------------------- */
/* Driving one core: readies, persistence, the state machine.                 */

static struct read_req *read_find(struct peer *p, uint64_t ctx)
{
    for (size_t i = 0; i < p->n_reads; i++)
        if (p->reads[i].ctx == ctx)
            return &p->reads[i];
    return NULL;
}

/* Serves the reads whose index the state machine has reached (dissertation §6.4 step 4). */
static void serve_reads(struct peer *p)
{
    for (size_t i = 0; i < p->n_reads; i++) {
        struct read_req *rq = &p->reads[i];
        if (rq->state == READ_WAITING && rq->index <= p->applied) {
            rq->state = READ_SERVED;
            text_printf(p->c->out, "%d serves read %" PRIu64 " at index %" PRIu64 "\n", p->id,
                        rq->ctx, rq->index);
        }
    }
}

static int apply_committed(struct peer *p, const struct raft_ready *rd)
{
    struct cluster *c = p->c;
    if (rd->n_committed == 0)
        return 0;
    if (rd->apply_from != p->applied + 1)
        return fail(c, "peer %d: asked to apply from %" PRIu64 " but applied up to %" PRIu64, p->id,
                    rd->apply_from, p->applied);
    for (size_t i = 0; i < rd->n_committed; i++) {
        const struct raft_entry *e = &rd->committed[i];
        raft_index idx = rd->apply_from + i;
        if (idx < c->n_committed && c->committed[idx] != 0 && c->committed[idx] != e->term)
            return fail(c,
                        "peer %d applies index %" PRIu64 " term %" PRIu64 " but term %" PRIu64
                        " was committed there",
                        p->id, idx, e->term, c->committed[idx]);
        if (e->type == RAFT_ENTRY_COMMAND && e->len > 0) {
            print_payload(&p->cmds, e->data, e->len);
            text_printf(&p->cmds, "\n");
        }
        p->applied = idx;
    }
    return 0;
}

static int record_reads(struct peer *p, const struct raft_ready *rd)
{
    for (size_t i = 0; i < rd->n_reads; i++) {
        struct read_req *rq = read_find(p, rd->reads[i].ctx);
        if (!rq || rq->state != READ_PENDING)
            return fail(p->c, "peer %d: read %" PRIu64 " answered but not pending", p->id,
                        rd->reads[i].ctx);
        rq->index = rd->reads[i].index;
        rq->state = READ_WAITING;
        text_printf(p->c->out, "%d read %" PRIu64 " has read index %" PRIu64 "\n", p->id, rq->ctx,
                    rq->index);
    }
    for (size_t i = 0; i < rd->n_failed_reads; i++) {
        struct read_req *rq = read_find(p, rd->failed_reads[i]);
        if (!rq || rq->state != READ_PENDING)
            return fail(p->c, "peer %d: read %" PRIu64 " failed but not pending", p->id,
                        rd->failed_reads[i]);
        rq->state = READ_FAILED;
        text_printf(p->c->out, "%d read %" PRIu64 " failed\n", p->id, rq->ctx);
    }
    return 0;
}

/* Step 2 of raft.h's order: the hard state, then the log. */
static int disk_write(struct peer *p, bool hs, raft_term term, raft_id vote, bool log_changed,
                      raft_index from, const struct raft_entry *es, size_t n)
{
    if (hs) {
        p->disk.term = term;
        p->disk.vote = vote;
    }
    if (!log_changed)
        return 0;
    if (from < 1 || from > p->disk.n + 1)
        return fail(p->c, "peer %d: persist_from %" PRIu64 " with %zu entries on disk", p->id, from,
                    p->disk.n);
    disk_truncate(&p->disk, (size_t)from - 1);
    for (size_t i = 0; i < n; i++)
        if (disk_append(&p->disk, &es[i]) != 0)
            return fail(p->c, "peer %d: bad entry to persist", p->id);
    return 0;
}

static void held_free(struct held_write *h)
{
    for (size_t i = 0; i < h->n_entries; i++)
        entry_free(&h->entries[i]);
    free(h->entries);
    for (size_t i = 0; i < h->n_after; i++)
        message_free(&h->after[i]);
    free(h->after);
    memset(h, 0, sizeof(*h));
}

/* Manual disk: keeps a copy of the ready's writes and late messages for `sync`. */
static int hold_write(struct peer *p, const struct raft_ready *rd)
{
    if (p->n_held >= SC_GUARD)
        return fail(p->c, "peer %d: too many writes waiting for sync", p->id);
    struct held_write *hs = realloc(p->held, (p->n_held + 1) * sizeof(*hs));
    if (!hs)
        abort();
    p->held = hs;
    struct held_write *h = &hs[p->n_held];
    memset(h, 0, sizeof(*h));
    p->n_held++; /* counted at once, so a failure below still frees it */
    h->seq = rd->seq;
    h->hard_state_changed = rd->hard_state_changed;
    h->term = rd->term;
    h->vote = rd->voted_for;
    h->log_changed = rd->log_changed;
    h->persist_from = rd->persist_from;
    if (rd->log_changed && rd->n_entries > 0) {
        if (rd->n_entries > SC_MAX_LOG || !rd->entries)
            return fail(p->c, "peer %d: bad entries to persist", p->id);
        h->entries = calloc(rd->n_entries, sizeof(*h->entries));
        if (!h->entries)
            abort();
        for (size_t i = 0; i < rd->n_entries; i++, h->n_entries++)
            if (entry_copy(&h->entries[i], &rd->entries[i]) != 0)
                return fail(p->c, "peer %d: bad entry to persist", p->id);
    }
    h->after = calloc(rd->n_messages + 1, sizeof(*h->after));
    if (!h->after)
        abort();
    for (size_t i = 0; i < rd->n_messages; i++) {
        if (!rd->messages[i].after_persist)
            continue;
        if (message_copy(&h->after[h->n_after], &rd->messages[i]) != 0)
            return fail(p->c, "peer %d sent a malformed message", p->id);
        h->n_after++;
    }
    return 0;
}

static int peer_settle(struct peer *p);

/* Manual disk: every held write reaches the disk, in order; then its late
 * messages leave and the core hears about it. */
static int peer_sync(struct peer *p)
{
    if (p->n_held == 0)
        return 0;
    uint64_t seq = 0;
    int rc = 0;
    for (size_t k = 0; k < p->n_held; k++) {
        struct held_write *h = &p->held[k];
        if (rc == 0)
            rc = disk_write(p, h->hard_state_changed, h->term, h->vote, h->log_changed,
                            h->persist_from, h->entries, h->n_entries);
        for (size_t i = 0; rc == 0 && i < h->n_after; i++)
            rc = net_send(p->c, &h->after[i], p->id);
        seq = h->seq;
        held_free(h);
    }
    p->n_held = 0;
    if (rc != 0)
        return rc;
    rc = raft_persisted(p->r, seq);
    if (rc != RAFT_OK)
        return fail(p->c, "peer %d: raft_persisted: %s", p->id, raft_strerror(rc));
    return peer_settle(p);
}

/* A crash loses whatever had not reached the disk. */
static void drop_held(struct peer *p)
{
    if (p->n_held > 0)
        text_printf(p->c->out, "%d crashes with %zu write%s not on disk\n", p->id, p->n_held,
                    p->n_held == 1 ? "" : "s");
    for (size_t k = 0; k < p->n_held; k++)
        held_free(&p->held[k]);
    p->n_held = 0;
}

/* Handles readies until the core is quiet, in the order raft.h prescribes: send the
 * early messages, write (at once, or held for `sync` on a manual disk), send the
 * rest, apply. */
static int peer_settle(struct peer *p)
{
    struct cluster *c = p->c;
    for (int guard = 0; p->r && raft_has_ready(p->r); guard++) {
        if (guard >= SC_GUARD)
            return fail(c, "peer %d: the core never stops producing readies", p->id);
        struct raft_ready rd;
        raft_take_ready(p->r, &rd);
        for (size_t i = 0; i < rd.n_messages; i++)
            if (!rd.messages[i].after_persist && net_send(c, &rd.messages[i], p->id) != 0)
                return -1;
        if (p->manual_disk) {
            if (hold_write(p, &rd) != 0)
                return -1;
        } else {
            if (disk_write(p, rd.hard_state_changed, rd.term, rd.voted_for, rd.log_changed,
                           rd.persist_from, rd.entries, rd.n_entries) != 0)
                return -1;
            for (size_t i = 0; i < rd.n_messages; i++)
                if (rd.messages[i].after_persist && net_send(c, &rd.messages[i], p->id) != 0)
                    return -1;
        }
        if (apply_committed(p, &rd) != 0 || record_reads(p, &rd) != 0)
            return -1;
        serve_reads(p);
        if (!p->manual_disk) {
            int rc = raft_persisted(p->r, rd.seq);
            if (rc != RAFT_OK)
                return fail(c, "peer %d: raft_persisted: %s", p->id, raft_strerror(rc));
        }
        if (check_invariants(c) != 0)
            return -1;
    }
    return 0;
}

static int peer_boot(struct cluster *c, struct peer *p)
{
    struct raft_config cfg = c->base;
    cfg.id = p->id;
    cfg.election_timeout_min = p->timeout;
    cfg.election_timeout_max = p->timeout;
    cfg.seed = (uint64_t)p->id; /* fixed seeds: the same file always runs the same way */
    cfg.trace = on_trace;
    cfg.trace_ctx = p;
    struct raft_boot_state boot = {
        .term = p->disk.term,
        .voted_for = p->disk.vote,
        .entries = p->disk.entries,
        .n_entries = p->disk.n,
        .configuration = p->id <= c->voters ? raft_configuration_bootstrap(c->voters)
                                            : (struct raft_configuration){0, 0},
    };
    p->applied = 0;
    text_free(&p->cmds);
    p->n_reads = 0;
    p->r = raft_new(&cfg, &boot, p->now);
    if (!p->r)
        return fail(c, "raft_new refused peer %d (term %" PRIu64 ", %zu entries)", p->id,
                    p->disk.term, p->disk.n);
    return peer_settle(p);
}

static int cluster_boot(struct cluster *c)
{
    if (c->booted)
        return 0;
    if (c->n == 0)
        return fail(c, "no cluster: start the file with `cluster N`");
    c->booted = true;
    for (int id = 1; id <= c->n; id++)
        if (peer_boot(c, &c->peers[id]) != 0)
            return -1;
    return 0;
}

static void cluster_free(struct cluster *c)
{
    for (int id = 1; id <= c->n; id++) {
        struct peer *p = &c->peers[id];
        raft_free(p->r);
        p->r = NULL;
        disk_truncate(&p->disk, 0);
        free(p->disk.entries);
        text_free(&p->cmds);
        for (size_t k = 0; k < p->n_held; k++)
            held_free(&p->held[k]);
        free(p->held);
    }
    for (size_t i = 0; i < c->qlen; i++)
        message_free(&c->queue[i].m);
    free(c->queue);
    free(c->leader_of_term);
    free(c->committed);
}

/* Advances p's clock to `target`, ticking at every deadline on the way, as a real
 * event loop would (so a leader ticked 300 ms sends every heartbeat in between). */
static int peer_advance(struct peer *p, raft_time target)
{
    for (int guard = 0;; guard++) {
        raft_time d = raft_next_deadline(p->r);
        if (d > target)
            break;
        if (guard >= SC_GUARD)
            return fail(p->c, "peer %d: too many deadlines before %" PRIu64, p->id, target);
        if (d > p->now)
            p->now = d;
        int rc = raft_tick(p->r, p->now);
        if (rc != RAFT_OK)
            return fail(p->c, "peer %d: raft_tick: %s", p->id, raft_strerror(rc));
        if (peer_settle(p) != 0)
            return -1;
        if (raft_next_deadline(p->r) <= p->now) /* still due after a tick: it would spin */
            return fail(p->c, "peer %d: deadline %" PRIu64 " does not move after a tick", p->id,
                        raft_next_deadline(p->r));
    }
    if (p->now >= target)
        return 0;
    p->now = target;
    int rc = raft_tick(p->r, p->now);
    if (rc != RAFT_OK)
        return fail(p->c, "peer %d: raft_tick: %s", p->id, raft_strerror(rc));
    return peer_settle(p);
}

/* Runs p's clock from deadline to deadline until its election timer fires: a new
 * (pre-)election starts, the term moves or the role changes. */
static int peer_campaign(struct peer *p)
{
    unsigned before = p->elections;
    raft_term term = raft_current_term(p->r);
    enum raft_role role = raft_role(p->r);
    raft_time limit = p->now + 10 * (p->timeout + 1);
    while (p->elections == before && raft_current_term(p->r) == term && raft_role(p->r) == role) {
        raft_time d = raft_next_deadline(p->r);
        if (d > limit)
            return fail(p->c, "peer %d: election timer did not fire (role %s)", p->id,
                        role_str(raft_role(p->r)));
        if (peer_advance(p, d > p->now ? d : p->now) != 0)
            return -1;
    }
    return 0;
}

/* Delivers the queued messages matching f, at most max of them, in the order sent.
 * Only messages already queued count: answers they provoke wait for the next command. */
static int net_deliver(struct cluster *c, const struct filter *f, size_t max)
{
    size_t n = 0;
    uint64_t *ids = malloc((c->qlen + 1) * sizeof(*ids));
    if (!ids)
        abort();
    for (size_t i = 0; i < c->qlen && n < max; i++)
        if (filter_match(f, &c->queue[i].m))
            ids[n++] = c->queue[i].id;
    int rc = 0;
    for (size_t k = 0; k < n && rc == 0; k++) {
        size_t i = 0;
        while (i < c->qlen && c->queue[i].id != ids[k])
            i++;
        if (i == c->qlen)
            continue; /* purged meanwhile, e.g. by a crash */
        struct raft_message m;
        queue_remove(c, i, &m);
        struct peer *to = &c->peers[m.to];
        if (!to->r || c->cut[m.from][m.to]) {
            print_message(c->out, &m);
            text_printf(c->out, " (dropped)\n");
        } else {
            int st = raft_step(to->r, &m, to->now);
            if (st != RAFT_OK)
                text_printf(c->out, "%d rejects a message: %s\n", to->id, raft_strerror(st));
            rc = peer_settle(to);
        }
        message_free(&m);
    }
    free(ids);
    return rc;
}

/* ------------------------------------------------------------------------- */
/* Commands.                                                                  */

static int parse_u64(const char *s, uint64_t *out)
{
    if (!s || !isdigit((unsigned char)*s))
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != '\0' || errno == ERANGE)
        return -1;
    *out = v;
    return 0;
}

/* A peer id; with allow_all, "all" or "*" gives 0. A trailing ':' is allowed. */
static int parse_peer(struct cluster *c, const char *s, bool allow_all, raft_id *out)
{
    char buf[32];
    if (!s)
        return fail(c, "missing peer");
    snprintf(buf, sizeof(buf), "%s", s);
    size_t n = strlen(buf);
    if (n > 0 && buf[n - 1] == ':')
        buf[n - 1] = '\0';
    if (allow_all && (strcmp(buf, "all") == 0 || strcmp(buf, "*") == 0)) {
        *out = 0;
        return 0;
    }
    uint64_t v;
    if (parse_u64(buf, &v) != 0 || v < 1 || v > (uint64_t)c->n)
        return fail(c, "bad peer '%s' (cluster has peers 1..%d)", s, c->n);
    *out = (raft_id)v;
    return 0;
}

static int parse_filter(struct cluster *c, const char *s, struct filter *f)
{
    f->from = f->to = 0;
    if (!s)
        return 0;
    const char *arrow = strstr(s, "->");
    if (!arrow)
        return fail(c, "bad filter '%s': want A->B, with * for any", s);
    char a[32], b[32];
    snprintf(a, sizeof(a), "%.*s", (int)(arrow - s), s);
    snprintf(b, sizeof(b), "%s", arrow + 2);
    if (parse_peer(c, a, true, &f->from) != 0 || parse_peer(c, b, true, &f->to) != 0)
        return -1;
    return 0;
}

static struct peer *running_peer(struct cluster *c, const char *s)
{
    raft_id id;
    if (parse_peer(c, s, false, &id) != 0)
        return NULL;
    if (!c->peers[id].r) {
        fail(c, "peer %d is down", id);
        return NULL;
    }
    return &c->peers[id];
}

/* A log written as the term of each entry, index 1 first. */
static int parse_terms(struct cluster *c, char **tok, int ntok, raft_term **out, size_t *n)
{
    raft_term *ts = calloc((size_t)ntok + 1, sizeof(*ts));
    if (!ts)
        abort();
    for (int i = 0; i < ntok; i++) {
        uint64_t v;
        if (parse_u64(tok[i], &v) != 0 || v == 0) {
            free(ts);
            return fail(c, "bad term '%s' in a log", tok[i]);
        }
        ts[i] = v;
    }
    *out = ts;
    *n = (size_t)ntok;
    return 0;
}

static void print_terms(struct text *t, const raft_term *ts, size_t n)
{
    for (size_t i = 0; i < n; i++)
        text_printf(t, "%s%" PRIu64, i ? " " : "", ts[i]);
}

static int cmd_cluster(struct cluster *c, char **tok, int ntok)
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

static int cmd_setup(struct cluster *c, char **tok, int ntok)
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

static int cmd_tick(struct cluster *c, char **tok, int ntok)
{
    raft_id id;
    uint64_t ms;
    if (ntok != 3 || parse_peer(c, tok[1], true, &id) != 0 || parse_u64(tok[2], &ms) != 0 ||
        ms > SC_MAX_MS)
        return fail(c, "usage: tick P|all MS (MS at most %u)", SC_MAX_MS);
    for (int i = 1; i <= c->n; i++) {
        struct peer *p = &c->peers[i];
        if ((id != 0 && i != id) || !p->r)
            continue;
        if (peer_advance(p, p->now + ms) != 0)
            return -1;
    }
    if (id != 0 && !c->peers[id].r)
        return fail(c, "peer %d is down", id);
    return 0;
}

static int cmd_crash(struct cluster *c, struct peer *p)
{
    raft_free(p->r);
    p->r = NULL;
    drop_held(p);
    /* Messages already on the wire to it are lost; those it sent may still arrive. */
    struct filter f = {.from = 0, .to = p->id};
    net_drop(c, &f);
    return 0;
}

static int cmd_isolate(struct cluster *c, raft_id id)
{
    for (int i = 1; i <= c->n; i++) {
        if (i == id)
            continue;
        c->cut[id][i] = c->cut[i][id] = true;
    }
    struct filter from = {.from = id, .to = 0}, to = {.from = 0, .to = id};
    net_drop(c, &from);
    net_drop(c, &to);
    return 0;
}

/* Cuts the link between a and b both ways; messages already on it are lost. */
static int cmd_cut(struct cluster *c, char **tok, int ntok)
{
    raft_id a, b;
    if (ntok != 3 || parse_peer(c, tok[1], false, &a) != 0 ||
        parse_peer(c, tok[2], false, &b) != 0 || a == b)
        return fail(c, "usage: cut A B (two different peers)");
    c->cut[a][b] = c->cut[b][a] = true;
    struct filter ab = {.from = a, .to = b}, ba = {.from = b, .to = a};
    net_drop(c, &ab);
    net_drop(c, &ba);
    return 0;
}

/* The daemon saw P's connection to Q close (raft_peer_disconnected); no link is cut. */
static int cmd_disconnect(struct cluster *c, char **tok, int ntok)
{
    raft_id q;
    if (ntok != 3 || parse_peer(c, tok[2], false, &q) != 0)
        return fail(c, "usage: disconnect P Q (P hears that its connection to Q closed)");
    struct peer *p = running_peer(c, tok[1]);
    if (!p)
        return -1;
    if (p->id == q)
        return fail(c, "usage: disconnect P Q (two different peers)");
    raft_peer_disconnected(p->r, q);
    return peer_settle(p);
}

/* The daemon on leader L dropped what it had queued for F (raft_peer_unreachable). */
static int cmd_unreachable(struct cluster *c, char **tok, int ntok)
{
    raft_id f;
    if (ntok != 3 || parse_peer(c, tok[2], false, &f) != 0)
        return fail(c, "usage: unreachable L F (L dropped the messages it had queued for F)");
    struct peer *p = running_peer(c, tok[1]);
    if (!p)
        return -1;
    if (p->id == f)
        return fail(c, "usage: unreachable L F (two different peers)");
    raft_peer_unreachable(p->r, f);
    return peer_settle(p);
}

static int cmd_propose(struct cluster *c, char **tok, int ntok)
{
    if (ntok != 3)
        return fail(c, "usage: propose P DATA (one word)");
    struct peer *p = running_peer(c, tok[1]);
    if (!p)
        return -1;
    raft_index idx = 0;
    int rc = raft_propose(p->r, tok[2], (uint32_t)strlen(tok[2]), &idx);
    if (rc == RAFT_OK)
        text_printf(c->out, "%d appends %s at index %" PRIu64 "\n", p->id, tok[2], idx);
    else
        text_printf(c->out, "%d refuses %s: %s\n", p->id, tok[2], raft_strerror(rc));
    return peer_settle(p);
}

/* add|promote|remove LEADER PEER: raft_change_membership (docs/MEMBERSHIP.md). */
static int cmd_membership(struct cluster *c, char **tok, int ntok)
{
    enum raft_change op = strcmp(tok[0], "add") == 0       ? RAFT_CHANGE_ADD_LEARNER
                          : strcmp(tok[0], "promote") == 0 ? RAFT_CHANGE_PROMOTE
                                                           : RAFT_CHANGE_REMOVE;
    raft_id id;
    if (ntok != 3 || parse_peer(c, tok[2], false, &id) != 0)
        return fail(c, "usage: %s LEADER PEER", tok[0]);
    struct peer *p = running_peer(c, tok[1]);
    if (!p)
        return -1;
    raft_index idx = 0;
    int rc = raft_change_membership(p->r, op, id, &idx);
    if (rc == RAFT_OK)
        text_printf(c->out, "%d appends %s %d at index %" PRIu64 "\n", p->id, raft_change_name(op),
                    id, idx);
    else
        text_printf(c->out, "%d refuses %s %d: %s\n", p->id, raft_change_name(op), id,
                    raft_strerror(rc));
    return peer_settle(p);
}

static int cmd_read(struct cluster *c, char **tok, int ntok)
{
    uint64_t ctx;
    if (ntok != 3 || parse_u64(tok[2], &ctx) != 0)
        return fail(c, "usage: read P CTX");
    struct peer *p = running_peer(c, tok[1]);
    if (!p)
        return -1;
    if (read_find(p, ctx))
        return fail(c, "read %" PRIu64 " already used on peer %d", ctx, p->id);
    if (p->n_reads == SC_MAX_READS)
        return fail(c, "too many reads on peer %d", p->id);
    int rc = raft_read_index(p->r, ctx);
    if (rc != RAFT_OK) {
        text_printf(c->out, "%d refuses read %" PRIu64 ": %s\n", p->id, ctx, raft_strerror(rc));
        return peer_settle(p);
    }
    p->reads[p->n_reads++] = (struct read_req){.ctx = ctx, .state = READ_PENDING};
    return peer_settle(p);
}

static int expect_log(struct cluster *c, char **tok, int ntok, bool disk)
{
    raft_id id;
    raft_term *want;
    size_t nwant;
    if (ntok < 3 || parse_peer(c, tok[2], true, &id) != 0)
        return fail(c, "usage: expect %s P|all: TERMS...", tok[1]);
    if (parse_terms(c, tok + 3, ntok - 3, &want, &nwant) != 0)
        return -1;
    int rc = 0;
    for (int i = 1; i <= c->n && rc == 0; i++) {
        struct peer *p = &c->peers[i];
        if (id != 0 && i != id)
            continue;
        if (!disk && !p->r) {
            if (id != 0)
                rc = fail(c, "peer %d is down", i);
            continue;
        }
        struct text got = {0};
        size_t ngot;
        bool same;
        if (disk) {
            ngot = p->disk.n;
            same = ngot == nwant;
            for (size_t k = 0; k < ngot; k++) {
                text_printf(&got, "%s%" PRIu64, k ? " " : "", p->disk.entries[k].term);
                same = same && p->disk.entries[k].term == want[k];
            }
        } else {
            raft_index first = raft_first_index(p->r), last = raft_last_index(p->r);
            ngot = last >= first ? (size_t)(last - first + 1) : 0;
            same = first == 1 && ngot == nwant;
            for (raft_index k = first; k <= last; k++) {
                raft_term t = raft_term_at(p->r, k);
                text_printf(&got, "%s%" PRIu64, k > first ? " " : "", t);
                same = same && k - 1 < nwant && t == want[k - 1];
            }
        }
        if (!same) {
            struct text w = {0};
            print_terms(&w, want, nwant);
            rc = fail(c, "peer %d %s: want [%s], got [%s]", i, disk ? "disk" : "log",
                      w.buf ? w.buf : "", got.buf ? got.buf : "");
            text_free(&w);
        }
        text_free(&got);
    }
    free(want);
    return rc;
}

static int expect_read(struct cluster *c, char **tok, int ntok)
{
    uint64_t ctx;
    if (ntok != 5 || parse_u64(tok[3], &ctx) != 0)
        return fail(c, "usage: expect read P CTX pending|waiting|served|failed");
    struct peer *p = running_peer(c, tok[2]);
    if (!p)
        return -1;
    static const char *const names[] = {"pending", "waiting", "served", "failed"};
    struct read_req *rq = read_find(p, ctx);
    if (!rq)
        return fail(c, "peer %d has no read %" PRIu64, p->id, ctx);
    if (strcmp(names[rq->state], tok[4]) != 0)
        return fail(c, "peer %d read %" PRIu64 ": want %s, got %s", p->id, ctx, tok[4],
                    names[rq->state]);
    return 0;
}

static int expect_progress(struct cluster *c, char **tok, int ntok)
{
    uint64_t next, match;
    raft_id fid;
    if (ntok != 6 || parse_peer(c, tok[3], false, &fid) != 0 || strncmp(tok[4], "next=", 5) != 0 ||
        parse_u64(tok[4] + 5, &next) != 0 || strncmp(tok[5], "match=", 6) != 0 ||
        parse_u64(tok[5] + 6, &match) != 0)
        return fail(c, "usage: expect progress LEADER FOLLOWER next=N match=M");
    struct peer *p = running_peer(c, tok[2]);
    if (!p)
        return -1;
    raft_index gn = 0, gm = 0;
    if (!raft_progress(p->r, fid, &gn, &gm))
        return fail(c, "peer %d has no progress for %d (not leader?)", p->id, fid);
    if (gn != next || gm != match)
        return fail(c,
                    "progress of %d at %d: want next=%" PRIu64 " match=%" PRIu64
                    ", got next=%" PRIu64 " match=%" PRIu64,
                    fid, p->id, next, match, gn, gm);
    return 0;
}

/* Numeric expectations on one peer or on all running peers. */
static int expect_value(struct cluster *c, char **tok, int ntok)
{
    const char *what = tok[1];
    raft_id id;
    if (ntok != 4 || parse_peer(c, tok[2], true, &id) != 0)
        return fail(c, "usage: expect %s P|all VALUE", what);
    for (int i = 1; i <= c->n; i++) {
        struct peer *p = &c->peers[i];
        if (id != 0 && i != id)
            continue;
        if (!p->r) {
            if (id != 0)
                return fail(c, "peer %d is down", i);
            continue;
        }
        char got[64];
        if (strcmp(what, "role") == 0)
            snprintf(got, sizeof(got), "%s", role_str(raft_role(p->r)));
        else if (strcmp(what, "term") == 0)
            snprintf(got, sizeof(got), "%" PRIu64, raft_current_term(p->r));
        else if (strcmp(what, "vote") == 0)
            snprintf(got, sizeof(got), "%d", raft_voted_for(p->r));
        else if (strcmp(what, "leader") == 0)
            snprintf(got, sizeof(got), "%d", raft_leader(p->r));
        else if (strcmp(what, "commit") == 0)
            snprintf(got, sizeof(got), "%" PRIu64, raft_commit_index(p->r));
        else if (strcmp(what, "applied") == 0)
            snprintf(got, sizeof(got), "%" PRIu64, p->applied);
        else if (strcmp(what, "last") == 0)
            snprintf(got, sizeof(got), "%" PRIu64, raft_last_index(p->r));
        else if (strcmp(what, "pending") == 0)
            snprintf(got, sizeof(got), "%s", raft_configuration_pending(p->r) ? "yes" : "no");
        else if (strcmp(what, "config") == 0) {
            struct text conf = {0};
            print_configuration(&conf, raft_configuration(p->r));
            snprintf(got, sizeof(got), "%s", conf.buf);
            text_free(&conf);
        } else
            return fail(c, "unknown expectation '%s'", what);
        if (strcmp(got, tok[3]) != 0)
            return fail(c, "peer %d %s: want %s, got %s", i, what, tok[3], got);
    }
    return 0;
}

static int expect_commands(struct cluster *c, char **tok, int ntok)
{
    if (ntok < 3)
        return fail(c, "usage: expect commands P: CMD...");
    struct peer *p = running_peer(c, tok[2]);
    if (!p)
        return -1;
    struct text want = {0};
    for (int i = 3; i < ntok; i++)
        text_printf(&want, "%s\n", tok[i]);
    const char *w = want.buf ? want.buf : "", *g = p->cmds.buf ? p->cmds.buf : "";
    int rc = 0;
    if (strcmp(w, g) != 0)
        rc = fail(c, "peer %d applied commands differ: want\n%sgot\n%s", p->id, w, g);
    text_free(&want);
    return rc;
}

static int cmd_expect(struct cluster *c, char **tok, int ntok)
{
    if (ntok < 2)
        return fail(c, "usage: expect WHAT ...");
    if (strcmp(tok[1], "log") == 0)
        return expect_log(c, tok, ntok, false);
    if (strcmp(tok[1], "disk") == 0)
        return expect_log(c, tok, ntok, true);
    if (strcmp(tok[1], "read") == 0)
        return expect_read(c, tok, ntok);
    if (strcmp(tok[1], "progress") == 0)
        return expect_progress(c, tok, ntok);
    if (strcmp(tok[1], "commands") == 0)
        return expect_commands(c, tok, ntok);
    if (strcmp(tok[1], "queue") == 0) {
        uint64_t n;
        if (ntok != 3 || parse_u64(tok[2], &n) != 0)
            return fail(c, "usage: expect queue N");
        if (c->qlen != n)
            return fail(c, "queue: want %" PRIu64 " messages, got %zu", n, c->qlen);
        return 0;
    }
    return expect_value(c, tok, ntok);
}

/* Runs one command line (already split into tokens), printing into c->out. */
static int run_command(struct cluster *c, char **tok, int ntok)
{
    const char *cmd = tok[0];
    if (strcmp(cmd, "cluster") == 0)
        return cmd_cluster(c, tok, ntok);
    if (strcmp(cmd, "log") == 0 || strcmp(cmd, "term") == 0 || strcmp(cmd, "vote") == 0 ||
        strcmp(cmd, "timeout") == 0)
        return cmd_setup(c, tok, ntok);
    if (strcmp(cmd, "events") == 0) {
        if (ntok != 2 || (strcmp(tok[1], "on") != 0 && strcmp(tok[1], "off") != 0))
            return fail(c, "usage: events on|off");
        c->events = strcmp(tok[1], "on") == 0;
        return 0;
    }
    if (cluster_boot(c) != 0)
        return -1;
    if (strcmp(cmd, "boot") == 0)
        return ntok == 1 ? 0 : fail(c, "usage: boot");
    if (strcmp(cmd, "tick") == 0)
        return cmd_tick(c, tok, ntok);
    if (strcmp(cmd, "campaign") == 0) {
        struct peer *p = ntok == 2 ? running_peer(c, tok[1]) : NULL;
        if (!p)
            return ntok == 2 ? -1 : fail(c, "usage: campaign P");
        return peer_campaign(p);
    }
    if (strcmp(cmd, "deliver") == 0 || strcmp(cmd, "drop") == 0) {
        struct filter f;
        uint64_t max = SIZE_MAX;
        if (ntok > 3 || parse_filter(c, ntok >= 2 ? tok[1] : NULL, &f) != 0 ||
            (ntok == 3 && (parse_u64(tok[2], &max) != 0 || max == 0)))
            return fail(c, "usage: %s [A->B [COUNT]]", cmd);
        if (strcmp(cmd, "drop") == 0) {
            if (ntok == 3)
                return fail(c, "drop takes no count");
            net_drop(c, &f);
            return 0;
        }
        return net_deliver(c, &f, (size_t)max);
    }
    if (strcmp(cmd, "stabilize") == 0) {
        struct filter all = {0, 0};
        for (int round = 0; c->qlen > 0; round++) {
            if (round >= 1000)
                return fail(c, "the cluster does not stabilize (messages keep coming)");
            if (net_deliver(c, &all, SIZE_MAX) != 0)
                return -1;
        }
        return 0;
    }
    if (strcmp(cmd, "propose") == 0)
        return cmd_propose(c, tok, ntok);
    if (strcmp(cmd, "add") == 0 || strcmp(cmd, "promote") == 0 || strcmp(cmd, "remove") == 0)
        return cmd_membership(c, tok, ntok);
    if (strcmp(cmd, "read") == 0)
        return cmd_read(c, tok, ntok);
    if (strcmp(cmd, "crash") == 0 || strcmp(cmd, "restart") == 0 || strcmp(cmd, "isolate") == 0 ||
        strcmp(cmd, "transfer") == 0) {
        raft_id id;
        if (ntok < 2 || parse_peer(c, tok[1], false, &id) != 0)
            return fail(c, "usage: %s P", cmd);
        struct peer *p = &c->peers[id];
        if (strcmp(cmd, "isolate") == 0)
            return ntok == 2 ? cmd_isolate(c, id) : fail(c, "usage: isolate P");
        if (strcmp(cmd, "restart") == 0) {
            if (p->r)
                return fail(c, "peer %d is already up", id);
            return peer_boot(c, p);
        }
        if (!p->r)
            return fail(c, "peer %d is down", id);
        if (strcmp(cmd, "crash") == 0)
            return cmd_crash(c, p);
        raft_id target;
        if (ntok != 3 || parse_peer(c, tok[2], false, &target) != 0)
            return fail(c, "usage: transfer LEADER TARGET");
        int rc = raft_transfer_leadership(p->r, target);
        if (rc != RAFT_OK)
            text_printf(c->out, "%d refuses transfer to %d: %s\n", id, target, raft_strerror(rc));
        return peer_settle(p);
    }
    if (strcmp(cmd, "cut") == 0)
        return cmd_cut(c, tok, ntok);
    if (strcmp(cmd, "disconnect") == 0)
        return cmd_disconnect(c, tok, ntok);
    if (strcmp(cmd, "unreachable") == 0)
        return cmd_unreachable(c, tok, ntok);
    if (strcmp(cmd, "disk") == 0 || strcmp(cmd, "sync") == 0) {
        bool is_sync = strcmp(cmd, "sync") == 0;
        if (is_sync ? ntok != 2
                    : ntok != 3 || (strcmp(tok[2], "manual") != 0 && strcmp(tok[2], "auto") != 0))
            return fail(c, "usage: disk P manual|auto, sync P");
        struct peer *p = running_peer(c, tok[1]);
        if (!p)
            return -1;
        if (!is_sync)
            p->manual_disk = strcmp(tok[2], "manual") == 0;
        return p->manual_disk && !is_sync ? 0 : peer_sync(p);
    }
    if (strcmp(cmd, "heal") == 0) {
        memset(c->cut, 0, sizeof(c->cut));
        return 0;
    }
    if (strcmp(cmd, "queue") == 0) {
        for (size_t i = 0; i < c->qlen; i++) {
            print_message(c->out, &c->queue[i].m);
            text_printf(c->out, "\n");
        }
        return 0;
    }
    if (strcmp(cmd, "expect") == 0)
        return cmd_expect(c, tok, ntok);
    return fail(c, "unknown command '%s'", cmd);
}

/* ------------------------------------------------------------------------- */
/* Scenario files: commands at column 0, their expected output indented below. */

struct step {
    size_t line;    /* index of the command line */
    size_t *expect; /* indexes of the expected output lines */
    size_t n_expect;
    size_t *other; /* comments and blank lines after the command, kept on rewrite */
    size_t n_other;
};

static bool is_comment(const char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    return *s == '#';
}

static bool is_blank(const char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    return *s == '\0';
}

static int tokenize(char *s, char **tok)
{
    int n = 0;
    char *hash = strchr(s, '#');
    if (hash)
        *hash = '\0';
    for (char *save = NULL, *w = strtok_r(s, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
        if (n == SC_MAX_TOKENS)
            return -1;
        tok[n++] = w;
    }
    return n;
}

/* A line diff by longest common subsequence: `-` only expected, `+` only actual. */
static void diff_lines(struct text *t, char **a, size_t na, char **b, size_t nb)
{
    if (na > 2000 || nb > 2000) {
        text_printf(t, "(too long to diff)\n");
        return;
    }
    size_t w = nb + 1;
    size_t *lcs = calloc((na + 1) * w, sizeof(*lcs));
    if (!lcs)
        abort();
    for (size_t i = na; i-- > 0;)
        for (size_t j = nb; j-- > 0;)
            lcs[i * w + j] = strcmp(a[i], b[j]) == 0
                                 ? lcs[(i + 1) * w + j + 1] + 1
                                 : (lcs[(i + 1) * w + j] > lcs[i * w + j + 1] ? lcs[(i + 1) * w + j]
                                                                              : lcs[i * w + j + 1]);
    size_t i = 0, j = 0;
    while (i < na || j < nb) {
        if (i < na && j < nb && strcmp(a[i], b[j]) == 0) {
            text_printf(t, "    %s\n", a[i]);
            i++;
            j++;
        } else if (j < nb && (i == na || lcs[i * w + j + 1] >= lcs[(i + 1) * w + j])) {
            text_printf(t, "  + %s\n", b[j++]);
        } else {
            text_printf(t, "  - %s\n", a[i++]);
        }
    }
    free(lcs);
}

static char *read_file_bounded(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open %s", path);
        return NULL;
    }
    char *buf = malloc(SC_MAX_FILE + 1);
    if (!buf)
        abort();
    size_t n = fread(buf, 1, SC_MAX_FILE + 1, f);
    fclose(f);
    if (n > SC_MAX_FILE) {
        snprintf(err, errlen, "%s is over %u bytes", path, SC_MAX_FILE);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    if (strlen(buf) != n) {
        snprintf(err, errlen, "%s contains a NUL byte", path);
        free(buf);
        return NULL;
    }
    return buf;
}

static const char *scenario_dir(void)
{
    const char *env = getenv("RAFT_SCENARIO_DIR");
    return env && *env ? env : "tests/scenarios";
}

/* Parses the file into steps. Lines before the first command may only be comments. */
static int parse_steps(char **lines, size_t nlines, struct step **out, size_t *nout, char *err,
                       size_t errlen)
{
    struct step *steps = calloc(nlines + 1, sizeof(*steps));
    if (!steps)
        abort();
    size_t n = 0;
    for (size_t i = 0; i < nlines; i++) {
        rtrim(lines[i]);
        bool indented = lines[i][0] == ' ' || lines[i][0] == '\t';
        if (is_blank(lines[i]) || is_comment(lines[i]) || indented) {
            if (n == 0) {
                if (indented && !is_comment(lines[i]) && !is_blank(lines[i])) {
                    snprintf(err, errlen, "line %zu: expected output before any command", i + 1);
                    free(steps);
                    return -1;
                }
                continue;
            }
            struct step *s = &steps[n - 1];
            bool output = indented && !is_comment(lines[i]) && !is_blank(lines[i]);
            size_t **arr = output ? &s->expect : &s->other;
            size_t *cnt = output ? &s->n_expect : &s->n_other;
            size_t *grown = realloc(*arr, (*cnt + 1) * sizeof(**arr));
            if (!grown)
                abort();
            *arr = grown;
            (*arr)[(*cnt)++] = i;
            continue;
        }
        steps[n++].line = i;
    }
    *out = steps;
    *nout = n;
    return 0;
}

static void steps_free(struct step *steps, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(steps[i].expect);
        free(steps[i].other);
    }
    free(steps);
}

/* Writes the file back with each command's actual output under it. Comments and
 * blank lines that followed a command's output stay after it. */
static int write_back(const char *path, char **olines, size_t nlines, const struct step *steps,
                      size_t nsteps, const struct text *outs, size_t ran)
{
    struct text nf = {0};
    size_t first = nsteps ? steps[0].line : nlines;
    for (size_t i = 0; i < first; i++)
        text_printf(&nf, "%s\n", olines[i]);
    for (size_t s = 0; s < nsteps; s++) {
        text_printf(&nf, "%s\n", olines[steps[s].line]);
        for (size_t k = 0; s >= ran && k < steps[s].n_expect; k++)
            text_printf(&nf, "%s\n", olines[steps[s].expect[k]]);
        if (s < ran && outs[s].buf) {
            char *copy = strdup(outs[s].buf);
            if (!copy)
                abort();
            char **ol;
            size_t nol = split_lines(copy, &ol);
            for (size_t k = 0; k < nol; k++)
                text_printf(&nf, "  %s\n", ol[k]);
            free(ol);
            free(copy);
        }
        for (size_t k = 0; k < steps[s].n_other; k++)
            text_printf(&nf, "%s\n", olines[steps[s].other[k]]);
    }
    FILE *f = fopen(path, "wb");
    int rc = f && fwrite(nf.buf ? nf.buf : "", 1, nf.len, f) == nf.len ? 0 : -1;
    if (f && fclose(f) != 0)
        rc = -1;
    text_free(&nf);
    return rc;
}

/* Compares one command's output with the lines expected under it; on a difference
 * returns -1 and, unless rewriting, appends a diff to err. */
static int compare_output(const char *path, const char *cmdline, const struct step *st,
                          char **lines, const struct text *o, bool rewrite, struct text *err)
{
    char *obuf = strdup(o->buf ? o->buf : "");
    if (!obuf)
        abort();
    char **got;
    size_t ngot = split_lines(obuf, &got);
    bool same = ngot == st->n_expect;
    char **want = calloc(st->n_expect + 1, sizeof(*want));
    if (!want)
        abort();
    for (size_t k = 0; k < st->n_expect; k++) {
        want[k] = lines[st->expect[k]];
        while (isspace((unsigned char)*want[k]))
            want[k]++;
        if (same && strcmp(want[k], got[k]) != 0)
            same = false;
    }
    if (!same && !rewrite) {
        text_printf(err, "%s:%zu: output of `%s` differs (- expected, + actual):\n", path,
                    st->line + 1, cmdline);
        diff_lines(err, want, st->n_expect, got, ngot);
    }
    free(want);
    free(got);
    free(obuf);
    return same ? 0 : -1;
}

/* Runs a scenario; on failure fills err (possibly many lines) and returns -1. With
 * rewrite, output mismatches are written back to the file instead of failing. */
static int run_file(const char *name, bool rewrite, struct text *err)
{
    char path[512], small[768];
    snprintf(path, sizeof(path), "%s/%s.txt", scenario_dir(), name);
    char *buf = read_file_bounded(path, small, sizeof(small));
    if (!buf) {
        text_printf(err, "%s\n", small);
        return -1;
    }
    /* Lines are tokenized in place, so keep a pristine copy for messages and rewrite. */
    char *orig = strdup(buf);
    if (!orig)
        abort();
    char **lines, **olines;
    size_t nlines = split_lines(buf, &lines);
    size_t nolines = split_lines(orig, &olines);
    (void)nolines;
    struct step *steps = NULL;
    size_t nsteps = 0;
    int rc = 0;
    struct cluster *c = calloc(1, sizeof(*c));
    if (!c)
        abort();
    c->events = true;
    struct text *outs = NULL;
    bool changed = false;
    if (parse_steps(lines, nlines, &steps, &nsteps, small, sizeof(small)) != 0) {
        text_printf(err, "%s: %s\n", path, small);
        rc = -1;
        goto out;
    }
    outs = calloc(nsteps + 1, sizeof(*outs));
    if (!outs)
        abort();
    size_t ran = 0; /* steps whose output is known, for a rewrite */
    for (size_t s = 0; s < nsteps && rc == 0; s++) {
        rtrim(olines[steps[s].line]);
        char *tok[SC_MAX_TOKENS];
        int ntok = tokenize(lines[steps[s].line], tok);
        struct text *o = &outs[s];
        c->out = o;
        ran = s + 1;
        if (ntok < 0) {
            text_printf(err, "%s:%zu: too many words\n", path, steps[s].line + 1);
            rc = -1;
            break;
        }
        if (ntok == 0)
            continue; /* only a trailing comment */
        if (run_command(c, tok, ntok) != 0) {
            text_printf(err, "%s:%zu: `%s`: %s\n", path, steps[s].line + 1, olines[steps[s].line],
                        c->err);
            if (o->len)
                text_printf(err, "output so far:\n%s", o->buf);
            rc = -1;
            changed = true;
            break;
        }
        if (compare_output(path, olines[steps[s].line], &steps[s], lines, o, rewrite, err) != 0)
            changed = true;
        if (!rewrite && changed)
            rc = -1;
    }
    if (rewrite && changed && write_back(path, olines, nlines, steps, nsteps, outs, ran) != 0) {
        text_printf(err, "cannot rewrite %s\n", path);
        rc = -1;
    }
out:
    for (size_t s = 0; outs && s < nsteps; s++)
        text_free(&outs[s]);
    free(outs);
    cluster_free(c);
    free(c);
    steps_free(steps, nsteps);
    free(lines);
    free(olines);
    free(orig);
    free(buf);
    return rc;
}

static void run_scenario(const char *name)
{
    const char *rw = getenv("RAFT_SCENARIO_REWRITE");
    struct text err = {0};
    int rc = run_file(name, rw && strcmp(rw, "1") == 0, &err);
    if (rc != 0) {
        /* The diff can be long: print it whole, and keep the assertion message short. */
        fprintf(stderr, "%s", err.buf ? err.buf : "");
        text_free(&err);
        cr_assert_fail("scenario %s failed (details above)", name);
    }
    text_free(&err);
}

/* ------------------------------------------------------------------------- */
/* One Criterion test per scenario file. Keep this list and the directory in step:
 * the last test fails when a file has no test here. */

#define SCENARIOS(X)                                                                               \
    X(election)                                                                                    \
    X(split_vote)                                                                                  \
    X(stale_leader)                                                                                \
    X(vote_log_behind)                                                                             \
    X(vote_once_per_term)                                                                          \
    X(pre_vote)                                                                                    \
    X(check_quorum)                                                                                \
    X(read_index)                                                                                  \
    X(log_conflict)                                                                                \
    X(figure7)                                                                                     \
    X(figure8_d)                                                                                   \
    X(figure8_e)                                                                                   \
    X(durability)                                                                                  \
    X(transfer)                                                                                    \
    X(transfer_abandoned)                                                                          \
    X(disconnect)                                                                                  \
    X(unreachable)                                                                                 \
    X(membership_bug)                                                                              \
    X(membership_leader_removal)                                                                   \
    X(membership_learner)

#define SCENARIO_TEST(name)                                                                        \
    Test(scenario, name)                                                                           \
    {                                                                                              \
        run_scenario(#name);                                                                       \
    }
SCENARIOS(SCENARIO_TEST)

#define SCENARIO_NAME(name) #name,
static const char *const scenario_names[] = {SCENARIOS(SCENARIO_NAME)};

Test(scenario_files, every_file_has_a_test)
{
    DIR *d = opendir(scenario_dir());
    cr_assert_not_null(d, "cannot open %s (run from the repository root)", scenario_dir());
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".txt") != 0)
            continue;
        bool known = false;
        for (size_t i = 0; i < sizeof(scenario_names) / sizeof(scenario_names[0]); i++)
            known = known || (strlen(scenario_names[i]) == n - 4 &&
                              strncmp(scenario_names[i], e->d_name, n - 4) == 0);
        cr_expect(known, "%s/%s has no Test in test_scenarios.c", scenario_dir(), e->d_name);
    }
    closedir(d);
}

/* Runs a scenario given as a string from a scratch directory. */
static int run_text(const char *body, struct text *err)
{
    char dir[] = "/tmp/raft_scenario_XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[600];
    snprintf(path, sizeof(path), "%s/t.txt", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(body, f);
    fclose(f);
    setenv("RAFT_SCENARIO_DIR", dir, 1);
    int rc = run_file("t", false, err);
    unsetenv("RAFT_SCENARIO_DIR");
    remove(path);
    rmdir(dir);
    return rc;
}

/* Bad scenario lines fail with the file and line, never crash the harness. */
Test(scenario_files, malformed_lines_fail_cleanly)
{
    static const char *const bad[] = {
        "tick 1 100\n",            /* no cluster */
        "cluster 0\n",             /* no peers */
        "cluster 99\n",            /* too many */
        "cluster 3 bogus\n",       /* unknown option */
        "cluster 3\ncluster 3\n",  /* twice */
        "cluster 3\nlog 1: 3 2\n", /* terms decrease */
        "cluster 3\nlog 4: 1\n",   /* no such peer */
        "cluster 3\nterm 1 99999999999999999999999\n",
        "cluster 3\ntick 1 99999999999\n", /* clock overflow bound */
        "cluster 3\ntick\n",
        "cluster 3\ndeliver 1-2\n",
        "cluster 3\ndeliver 1->9\n",
        "cluster 3\ncampaign\n",
        "cluster 3\nexpect\n",
        "cluster 3\nexpect role 1\n",
        "cluster 3\nexpect role 1 leader\n", /* a false expectation */
        "cluster 3\nexpect nonsense 1 2\n",
        "cluster 3\ncrash 1\ncrash 1\n",
        "cluster 3\nrestart 1\n",
        "cluster 3\ncampaign 1\nstabilize\ncampaign 1\n", /* a leader's timer never fires */
        "cluster 3\nfrobnicate\n",
        "  1->2 output before any command\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct text err = {0};
        int rc = run_text(bad[i], &err);
        cr_expect_eq(rc, -1, "should fail: %s", bad[i]);
        cr_expect(err.buf && strstr(err.buf, "t.txt"), "error names the file: %s",
                  err.buf ? err.buf : "(none)");
        text_free(&err);
    }
}

/* The interpreter itself must fail loudly on a wrong expectation, or every green
 * scenario above would prove nothing. */
Test(scenario_files, a_wrong_expectation_fails)
{
    struct text err = {0};
    int rc = run_text("cluster 3\ncampaign 1\n  1->2 request_vote term=9 last=0/0\n", &err);
    cr_expect_eq(rc, -1);
    cr_expect(err.buf && strstr(err.buf, "t.txt:2: output of `campaign 1` differs"),
              "the diff should name the line: %s", err.buf ? err.buf : "");
    cr_expect(err.buf && strstr(err.buf, "  - 1->2 request_vote term=9 last=0/0"),
              "the diff should show the expected line: %s", err.buf ? err.buf : "");
    cr_expect(err.buf && strstr(err.buf, "  + 1->2 request_vote term=1 last=0/0"),
              "the diff should show the actual line: %s", err.buf ? err.buf : "");
    text_free(&err);
}
