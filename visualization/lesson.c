/* lesson.c: the lesson engine: runs a lesson's table of steps against the village model.
 * Every check reads only the model, which is built from the peers' own stream, so a
 * step passes when the cluster really did what the lesson says, whoever made it happen
 * (the lesson, the learner's click, or user_cli in another window). */
#include "visualization/lesson.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <string.h>

/* Majorities are counted among the voters of the configuration in use (dissertation
 * §4.1), and the lesson waits only for members: a peer in no configuration (a newcomer
 * waiting, one removed) is neither revived nor awaited (village_model_is_member). */
static bool is_voter(const struct village_model *m, int slot)
{
    return village_model_is_member(m, slot, true);
}

static bool counted(const struct village_model *m, int slot)
{
    return village_model_is_member(m, slot, false);
}

static int majority(const struct village_model *m)
{
    return village_model_members(m, true, NULL) / 2 + 1;
}

static int lowest_slot(uint16_t mask)
{
    return mask != 0 ? __builtin_ctz(mask) : -1;
}

static const struct village_peer *peer(const struct village_model *m, int slot)
{
    return slot >= 0 && slot < m->n ? &m->peers[slot] : NULL;
}

static bool alive(const struct village_model *m, int slot)
{
    const struct village_peer *p = peer(m, slot);
    return p != NULL && p->life == VILLAGE_ALIVE;
}

/* The term of entry index in p's log, as its last state's tail tells, or 0 if the tail
 * does not cover it. */
static uint64_t term_at(const struct village_peer *p, uint64_t index)
{
    if (p->n_log_tail == 0 || index < p->log_tail_start ||
        index >= p->log_tail_start + (uint64_t)p->n_log_tail)
        return 0;
    return p->log_tail_terms[index - p->log_tail_start];
}

static const struct lesson_def *def_of(const struct lesson *l)
{
    return l->def >= 0 && l->def < lesson_count ? &lesson_table[l->def] : NULL;
}

static const struct lesson_step *step_of(const struct lesson *l)
{
    const struct lesson_def *d = def_of(l);
    return d && l->step >= 0 && l->step < d->n_steps ? &d->steps[l->step] : NULL;
}

/* Remembers the leader in charge now as "the old leader". */
static void remember(struct lesson *l, const struct village_model *m)
{
    int lead = village_model_leader(m);

    l->old = l->leader = lead;
    l->term = lead >= 0 ? m->peers[lead].term : 0;
    l->mark = lead >= 0 ? m->peers[lead].last_index : 0;
    l->members_before = m->membership_seen ? (uint16_t)(m->voters | m->learners) : 0;
    l->voters_seen = m->membership_seen ? m->voters : 0;
    l->voters_prev = l->voters_seen; /* "it was ..." stays true if a step is skipped */
}

/* --- the checks ----------------------------------------------------------------------- */

static bool calm(struct lesson *l, const struct village_model *m)
{
    int lead = village_model_leader(m);

    if (m->n == 0 || village_model_cut_roads(m) != 0 || lead < 0)
        return false;
    for (int i = 0; i < m->n; i++) {
        const struct village_peer *p = &m->peers[i];
        if (!counted(m, i))
            continue;
        if (p->life != VILLAGE_ALIVE || p->term != m->peers[lead].term ||
            (i != lead &&
             (p->role != VILLAGE_FOLLOWER || strcmp(p->leader, m->peers[lead].name) != 0)))
            return false;
    }
    remember(l, m);
    return true;
}

static bool new_leader(struct lesson *l, const struct village_model *m)
{
    int lead = village_model_leader(m);

    if (lead < 0 || lead == l->old || m->peers[lead].term <= l->term)
        return false;
    l->leader = lead;
    return true;
}

static bool votes(struct lesson *l, const struct village_model *m)
{
    const struct village_peer *lp = peer(m, l->leader);
    int n = 0;

    if (lp == NULL)
        return false;
    for (int i = 0; i < m->n; i++)
        if (is_voter(m, i) && m->peers[i].term == lp->term &&
            strcmp(m->peers[i].voted_for, lp->name) == 0)
            n++;
    return n >= majority(m);
}

static bool leader_appended(struct lesson *l, const struct village_model *m)
{
    int lead = village_model_leader(m);

    if (lead < 0 || m->peers[lead].last_index <= l->mark)
        return false;
    l->leader = lead;
    l->entry = m->peers[lead].last_index;
    l->entry_term = term_at(&m->peers[lead], l->entry);
    return true;
}

/* Voters whose log holds the entry (its term, when the tail says), and of those, the
 * ones that committed it. */
static void count_entry(const struct lesson *l, const struct village_model *m, int *stored,
                        int *committed)
{
    *stored = *committed = 0;
    for (int i = 0; i < m->n; i++) {
        const struct village_peer *p = &m->peers[i];
        uint64_t t = term_at(p, l->entry);
        if (!is_voter(m, i) || p->life != VILLAGE_ALIVE || p->last_index < l->entry ||
            (t != 0 && l->entry_term != 0 && t != l->entry_term))
            continue;
        (*stored)++;
        if (p->commit_index >= l->entry)
            (*committed)++;
    }
}

static bool entry_committed(struct lesson *l, const struct village_model *m)
{
    int lead = village_model_leader(m), stored, committed;

    count_entry(l, m, &stored, &committed);
    return lead >= 0 && m->peers[lead].commit_index >= l->entry && committed >= majority(m);
}

static bool follower_dead(struct lesson *l, const struct village_model *m)
{
    int lead = village_model_leader(m);

    for (int i = 0; i < m->n; i++)
        if (i != lead && counted(m, i) && m->peers[i].life == VILLAGE_GRAVE) {
            l->victim = i;
            return true;
        }
    return false;
}

static bool all_caught_up(const struct lesson *l, const struct village_model *m)
{
    int members = 0;

    for (int i = 0; i < m->n; i++) {
        const struct village_peer *p = &m->peers[i];
        uint64_t t = term_at(p, l->entry);
        if (!counted(m, i))
            continue;
        if (p->life != VILLAGE_ALIVE || p->last_index < l->entry || p->commit_index < l->entry ||
            (t != 0 && l->entry_term != 0 && t != l->entry_term))
            return false;
        members++;
    }
    return members > 0;
}

static bool old_follows(struct lesson *l, const struct village_model *m)
{
    int lead = village_model_leader(m);
    const struct village_peer *o = peer(m, l->old);

    if (lead < 0 || lead == l->old || !alive(m, l->old) || o->role != VILLAGE_FOLLOWER ||
        o->term != m->peers[lead].term || strcmp(o->leader, m->peers[lead].name) != 0)
        return false;
    l->leader = lead;
    return true;
}

static bool old_isolated(const struct lesson *l, const struct village_model *m)
{
    int others = 0;

    if (!alive(m, l->old))
        return false;
    for (int j = 0; j < m->n; j++) {
        if (j == l->old || !alive(m, j) || !counted(m, j))
            continue;
        if (!village_model_cut(m, l->old, j) || !village_model_cut(m, j, l->old))
            return false;
        others++;
    }
    return others > 0;
}

static bool stale_entry(struct lesson *l, const struct village_model *m)
{
    const struct village_peer *o = peer(m, l->old);

    if (!alive(m, l->old) || o->last_index <= l->mark || o->last_index <= o->commit_index)
        return false;
    l->entry = o->last_index;
    l->entry_term = term_at(o, l->entry);
    if (l->entry_term == 0)
        l->entry_term = o->term;
    return true;
}

static bool majority_commits(struct lesson *l, const struct village_model *m)
{
    int lead = village_model_leader(m);

    if (lead < 0 || lead == l->old || m->peers[lead].term <= l->term ||
        m->peers[lead].commit_index < l->entry)
        return false;
    l->leader = lead;
    return true;
}

static bool log_repaired(struct lesson *l, const struct village_model *m)
{
    int lead = village_model_leader(m);
    const struct village_peer *o = peer(m, l->old);
    uint64_t t;

    if (!l->saw_lost || lead < 0 || lead == l->old || !alive(m, l->old) ||
        o->term != m->peers[lead].term || o->commit_index < l->entry)
        return false;
    t = term_at(o, l->entry);
    if (t == 0 || t == l->entry_term || t != term_at(&m->peers[lead], l->entry))
        return false;
    l->leader = lead;
    l->entry_term = t; /* from now on the entry the lesson follows is the leader's */
    return true;
}

/* --- membership (docs/MEMBERSHIP.md) ----------------------------------------------------- */

/* Newcomers seen as learners, latched every tick: the learner stage of an add can be
 * shorter than the peers' 15 ms gap between states, so any evidence counts: the
 * village's configuration, any living peer's own (followers and the newcomer report
 * theirs too), and the leader's log line "learner NAME caught up (round R)"
 * (raft_peer/trace_log.c), which it writes only while NAME is a learner (a peer at
 * log_level warn sends no such line). Last, a newcomer already a voter: the core adds
 * only learners (RAFT_CHANGE_ADD_LEARNER) and promotes them by a second change, so it
 * was one, however briefly. */
static void watch_learners(struct lesson *l, const struct village_model *m)
{
    uint16_t seen = m->membership_seen ? m->learners | m->voters : 0;
    uint64_t first = m->feed_total - (uint64_t)m->n_feed;

    for (int i = 0; i < m->n; i++)
        if (m->peers[i].life == VILLAGE_ALIVE)
            seen |= m->peers[i].conf_learners | m->peers[i].conf_voters;
    for (int i = 0; i < m->n_feed; i++) {
        const struct village_feed_line *f = village_model_feed_line(m, i);
        const char *name, *end;
        char buf[VILLAGE_NAME_MAX];
        int slot;
        if (first + (uint64_t)i < l->feed_seen || strncmp(f->text, "learner ", 8) != 0)
            continue;
        name = f->text + 8;
        end = strstr(name, " caught up");
        if (end == NULL || end == name || (size_t)(end - name) >= sizeof buf)
            continue;
        snprintf(buf, sizeof buf, "%.*s", (int)(end - name), name);
        slot = village_model_find(m, buf);
        if (slot >= 0 && slot < m->n)
            seen |= (uint16_t)(1u << slot);
    }
    l->feed_seen = m->feed_total;
    l->learner_seen |= (uint16_t)(seen & ~l->members_before);
}

static bool spare(const struct lesson *l, const struct village_model *m)
{
    return village_model_next_to_add(m) >= 0 || l->learner_seen != 0 ||
           (m->membership_seen && ((m->voters | m->learners) & ~l->members_before) != 0);
}

static bool joiner_learner(struct lesson *l)
{
    if (l->learner_seen == 0)
        return false;
    l->joiner = lowest_slot(l->learner_seen);
    l->voters_prev = l->voters_seen;
    return true;
}

static bool joiner_voter(struct lesson *l, const struct village_model *m)
{
    if (l->joiner < 0 || !m->membership_seen || (m->voters >> l->joiner & 1u) == 0)
        return false;
    l->conf = m->conf_index;
    return true;
}

/* Whether the living villager at slot uses the village's configuration and knows that
 * it committed (its own entry is not pending: its commit index reached it). */
static bool uses_committed(const struct village_model *m, int slot)
{
    const struct village_peer *p = &m->peers[slot];
    return p->life == VILLAGE_ALIVE && p->conf_voters == m->voters &&
           p->conf_learners == m->learners && !p->conf_pending;
}

static bool conf_committed(struct lesson *l, const struct village_model *m)
{
    int lead = village_model_leader(m), k = 0;

    if (!m->membership_seen || m->conf_pending || lead < 0 || !uses_committed(m, lead) ||
        (l->joiner >= 0 && (m->voters >> l->joiner & 1u) == 0))
        return false;
    for (int i = 0; i < m->n; i++)
        k += (m->voters >> i & 1u) && uses_committed(m, i);
    if (k < majority(m))
        return false;
    l->leader = lead; /* leadership may have moved since: the next words name this one */
    l->conf = m->conf_index;
    l->voters_seen = m->voters;
    return true;
}

static bool follower_removed(struct lesson *l, const struct village_model *m)
{
    int lead = village_model_leader(m);
    uint16_t gone;

    if (!m->membership_seen || m->conf_pending || lead < 0)
        return false;
    /* Any voter the committed configuration no longer names, but the one leading now:
     * the leader when the lesson began may have become a follower meanwhile. */
    gone = (uint16_t)(l->voters_seen & ~(m->voters | m->learners) & ~(1u << lead));
    if (gone == 0)
        return false;
    l->leader = lead;
    l->gone = lowest_slot(gone);
    l->voters_prev = l->voters_seen;
    l->voters_seen = m->voters;
    l->conf = m->conf_index;
    return true;
}

static bool conf_everywhere(struct lesson *l, const struct village_model *m)
{
    uint16_t members = m->membership_seen ? (uint16_t)(m->voters | m->learners) : 0;

    if (members == 0 || m->conf_pending || village_model_leader(m) < 0 ||
        (l->gone >= 0 && !m->peers[l->gone].left))
        return false;
    for (int i = 0; i < m->n; i++)
        if ((members >> i & 1u) && !uses_committed(m, i))
            return false;
    for (int i = m->n; i < VILLAGE_MAX_PEERS; i++)
        if (members >> i & 1u)
            return false;
    l->conf = m->conf_index;
    return true;
}

static bool check(struct lesson *l, const struct village_model *m, enum lesson_check c)
{
    switch (c) {
    case LC_NONE:
        return true;
    case LC_CALM:
        return calm(l, m);
    case LC_NEW_LEADER:
        return new_leader(l, m);
    case LC_VOTES:
        return votes(l, m);
    case LC_LEADER_APPENDED:
        return leader_appended(l, m);
    case LC_ENTRY_STORED: {
        int stored, committed;
        count_entry(l, m, &stored, &committed);
        return stored >= majority(m);
    }
    case LC_ENTRY_COMMITTED:
        return entry_committed(l, m);
    case LC_FOLLOWER_DEAD:
        return follower_dead(l, m);
    case LC_OLD_LEADER_DEAD:
        return peer(m, l->old) != NULL && m->peers[l->old].life == VILLAGE_GRAVE;
    case LC_ALL_CAUGHT_UP:
        return all_caught_up(l, m);
    case LC_OLD_FOLLOWS:
        return old_follows(l, m);
    case LC_OLD_ISOLATED:
        return old_isolated(l, m);
    case LC_STALE_ENTRY:
        return stale_entry(l, m);
    case LC_MAJORITY_COMMITS:
        return majority_commits(l, m);
    case LC_OLD_STEPPED_DOWN:
        return alive(m, l->old) && m->peers[l->old].role != VILLAGE_LEADER;
    case LC_HEALED:
        return village_model_cut_roads(m) == 0;
    case LC_LOG_REPAIRED:
        return log_repaired(l, m);
    case LC_SPARE:
        return spare(l, m);
    case LC_JOINER_LEARNER:
        return joiner_learner(l);
    case LC_JOINER_VOTER:
        return joiner_voter(l, m);
    case LC_CONF_COMMITTED:
        return conf_committed(l, m);
    case LC_FOLLOWER_REMOVED:
        return follower_removed(l, m);
    case LC_CONF_EVERYWHERE:
        return conf_everywhere(l, m);
    case LC_COUNT:
        break;
    }
    return false;
}

/* What a step waits for, in words, for the status line. */
static const char *waiting_words(enum lesson_check c)
{
    static const char *const words[LC_COUNT] = {
        [LC_NONE] = "",
        [LC_CALM] = "every villager alive, every road open, one leader all follow",
        [LC_NEW_LEADER] = "a new leader in a higher term",
        [LC_VOTES] = "a majority of votes for the leader in its term",
        [LC_LEADER_APPENDED] = "a new entry in the leader's log",
        [LC_ENTRY_STORED] = "the entry in a majority of logs",
        [LC_ENTRY_COMMITTED] = "the entry committed by the leader and a majority",
        [LC_FOLLOWER_DEAD] = "a follower in its grave",
        [LC_OLD_LEADER_DEAD] = "{old} in its grave",
        [LC_ALL_CAUGHT_UP] = "every villager alive, holding and committing entry {entry}",
        [LC_OLD_FOLLOWS] = "{old} alive again, following the leader in its term",
        [LC_OLD_ISOLATED] = "every road of {old} cut both ways",
        [LC_STALE_ENTRY] = "an entry in {old}'s log that it cannot commit",
        [LC_MAJORITY_COMMITS] = "a new leader committing index {entry}",
        [LC_OLD_STEPPED_DOWN] = "{old} stepping down",
        [LC_HEALED] = "every road open",
        [LC_LOG_REPAIRED] = "{old}'s entry {entry} struck out and replaced by the leader's",
        [LC_SPARE] = "a peer of the ini in no configuration and not running, to call in",
        [LC_JOINER_LEARNER] = "a newcomer seen as a learner",
        [LC_JOINER_VOTER] = "{joiner} a voter in the leader's configuration",
        [LC_CONF_COMMITTED] = "the configuration committed on the leader and a majority of "
                              "voters",
        [LC_FOLLOWER_REMOVED] = "a follower out of the committed configuration",
        [LC_CONF_EVERYWHERE] = "every member using the committed configuration, and {gone} "
                               "walking away",
    };
    return c >= 0 && c < LC_COUNT && words[c] ? words[c] : "";
}

/* --- words ------------------------------------------------------------------------------ */

static const char *slot_name(const struct village_model *m, int slot, const char *none)
{
    const struct village_peer *p = peer(m, slot);
    return p && p->name[0] ? p->name : none;
}

/* src with {placeholders} filled in from the lesson's memory. */
static void fill(const struct lesson *l, const struct village_model *m, const char *src, char *out,
                 size_t cap)
{
    size_t n = 0;

    out[0] = '\0';
    while (src && *src && n + 1 < cap) {
        char val[64];
        const char *end = *src == '{' ? strchr(src, '}') : NULL;
        size_t k;

        if (end == NULL) {
            out[n++] = *src++;
            continue;
        }
        k = (size_t)(end - src - 1);
        val[0] = '\0';
        if (k == 3 && strncmp(src + 1, "old", 3) == 0)
            snprintf(val, sizeof val, "%s", slot_name(m, l->old, "the leader"));
        else if (k == 6 && strncmp(src + 1, "leader", 6) == 0)
            snprintf(
                val, sizeof val, "%s",
                slot_name(m, l->leader >= 0 ? l->leader : village_model_leader(m), "the leader"));
        else if (k == 6 && strncmp(src + 1, "victim", 6) == 0)
            snprintf(val, sizeof val, "%s", slot_name(m, l->victim, "the follower"));
        else if (k == 5 && strncmp(src + 1, "entry", 5) == 0)
            snprintf(val, sizeof val, "%" PRIu64, l->entry);
        else if (k == 4 && strncmp(src + 1, "term", 4) == 0)
            snprintf(val, sizeof val, "%" PRIu64, l->term);
        else if (k == 7 && strncmp(src + 1, "newterm", 7) == 0)
            snprintf(val, sizeof val, "%" PRIu64,
                     peer(m, l->leader) ? m->peers[l->leader].term : l->term + 1);
        else if (k == 8 && strncmp(src + 1, "majority", 8) == 0)
            snprintf(val, sizeof val, "%d", majority(m));
        else if (k == 1 && src[1] == 'n')
            snprintf(val, sizeof val, "%d", village_model_members(m, true, NULL));
        else if (k == 9 && strncmp(src + 1, "majority0", 9) == 0)
            snprintf(val, sizeof val, "%d", __builtin_popcount(l->voters_prev) / 2 + 1);
        else if (k == 2 && strncmp(src + 1, "n0", 2) == 0)
            snprintf(val, sizeof val, "%d", __builtin_popcount(l->voters_prev));
        else if (k == 6 && strncmp(src + 1, "joiner", 6) == 0)
            snprintf(val, sizeof val, "%s", slot_name(m, l->joiner, "the newcomer"));
        else if (k == 4 && strncmp(src + 1, "gone", 4) == 0)
            snprintf(val, sizeof val, "%s", slot_name(m, l->gone, "the follower"));
        else if (k == 4 && strncmp(src + 1, "conf", 4) == 0)
            snprintf(val, sizeof val, "%" PRIu64, l->conf);
        else {
            out[n++] = *src++; /* not a placeholder: a brace like any character */
            continue;
        }
        for (const char *v = val; *v && n + 1 < cap; v++)
            out[n++] = *v;
        src = end + 1;
    }
    out[n] = '\0';
}

/* Says text in the feed, a sentence or a few at a time: a feed line is short. */
static void say_long(const struct lesson_hands *h, const char *prefix, const char *text)
{
    const size_t max = VILLAGE_FEED_TEXT_MAX - 8;
    char line[VILLAGE_FEED_TEXT_MAX];
    size_t plen = strlen(prefix);

    while (*text) {
        size_t len = strlen(text), cut = len;
        if (plen + len > max) {
            size_t room = max - plen;
            cut = 0;
            /* the last sentence end, else the last space, that fits */
            for (size_t i = 1; i < room; i++)
                if (text[i] == ' ' && (text[i - 1] == '.' || text[i - 1] == ':'))
                    cut = i;
            for (size_t i = room; cut == 0 && i > 0; i--)
                if (text[i] == ' ')
                    cut = i;
            if (cut == 0)
                cut = room;
        }
        snprintf(line, sizeof line, "%s%.*s", prefix, (int)cut, text);
        h->say(h->ctx, line);
        text += cut;
        while (*text == ' ')
            text++;
        prefix = "";
        plen = 0;
    }
}

/* --- the steps -------------------------------------------------------------------------- */

static void enter_step(struct lesson *l, int step, uint64_t now_ms, const struct village_model *m,
                       const struct lesson_hands *h)
{
    const struct lesson_def *d = def_of(l);

    l->step = step;
    l->step_since = l->phase_since = now_ms;
    l->status[0] = '\0';
    if (step >= d->n_steps) {
        l->phase = LESSON_DONE;
        snprintf(l->text, sizeof l->text,
                 "The end of \"%s\": %d of %d steps seen to happen%s. Press l for another "
                 "lesson.",
                 d->title, l->passed, d->n_steps, l->skipped ? " (the others skipped)" : "");
        say_long(h, "Lesson over: ", l->text);
        return;
    }
    /* Shown at once; said in the feed once the precondition holds, with the memory
     * filled in then. */
    l->phase = LESSON_PRE;
    fill(l, m, d->steps[step].text, l->text, sizeof l->text);
}

static void act(struct lesson *l, enum lesson_action a, const struct lesson_step *s,
                const struct lesson_hands *h, const struct village_model *m)
{
    switch (a) {
    case LA_NONE:
    case LA_COUNT:
        break;
    case LA_SUBMIT:
        h->submit(h->ctx, s->command, village_model_leader(m));
        break;
    case LA_ISOLATE_OLD:
        h->cut_off(h->ctx, l->old);
        break;
    case LA_ISOLATE_AND_SEND:
        /* In one breath, so the entry reaches the old leader before its quorum check
         * tells it to step down, whatever the timeouts. */
        h->cut_off(h->ctx, l->old);
        h->submit(h->ctx, s->command, l->old);
        break;
    case LA_SEND_TO_OLD:
        h->submit(h->ctx, s->command, l->old);
        break;
    case LA_RESTORE:
        if (village_model_cut_roads(m) > 0)
            h->heal(h->ctx);
        /* graves, and plots of peers never heard from (a click on a plot starts it too) */
        for (int i = 0; i < m->n; i++)
            if (m->peers[i].life != VILLAGE_ALIVE && m->peers[i].name[0] != '\0' &&
                !m->peers[i].reviving && counted(m, i))
                h->revive(h->ctx, i);
        break;
    }
}

void lesson_init(struct lesson *l)
{
    memset(l, 0, sizeof *l);
    l->def = -1;
    l->old = l->leader = l->victim = -1;
    l->joiner = l->gone = -1;
}

void lesson_start(struct lesson *l, int def, const struct village_model *m, uint64_t now_ms,
                  const struct lesson_hands *h)
{
    const struct lesson_def *d;
    char line[VILLAGE_FEED_TEXT_MAX];

    lesson_init(l);
    if (def < 0 || def >= lesson_count)
        return;
    l->def = def;
    l->feed_seen = m->feed_total;
    d = def_of(l);
    snprintf(line, sizeof line, "Lesson \"%s\" begins (%d steps; n skips a step, l the menu)",
             d->title, d->n_steps);
    h->say(h->ctx, line);
    enter_step(l, 0, now_ms, m, h);
}

void lesson_stop(struct lesson *l, const struct lesson_hands *h)
{
    const struct lesson_def *d = def_of(l);
    char line[VILLAGE_FEED_TEXT_MAX];

    if (d != NULL && l->phase != LESSON_DONE) {
        snprintf(line, sizeof line, "Lesson \"%s\" stopped at step %d", d->title, l->step + 1);
        h->say(h->ctx, line);
    }
    lesson_init(l);
}

bool lesson_running(const struct lesson *l)
{
    return def_of(l) != NULL && l->phase != LESSON_DONE;
}

void lesson_tick(struct lesson *l, const struct village_model *m, uint64_t now_ms,
                 const struct lesson_hands *h)
{
    const struct lesson_def *d = def_of(l);
    const struct lesson_step *s = step_of(l);
    uint64_t limit;
    char words[LESSON_TEXT_MAX / 2];

    if (d == NULL || s == NULL || l->phase == LESSON_DONE)
        return;
    /* Struck-out entries are shown for a moment only: latch what was seen. */
    if (l->entry > 0 && peer(m, l->old) != NULL) {
        const struct village_peer *o = &m->peers[l->old];
        for (int i = 0; i < o->n_ghosts; i++)
            if (o->ghost_index[i] == l->entry && o->ghost_term[i] == l->entry_term)
                l->saw_lost = true;
    }
    if (l->old >= 0)
        watch_learners(l, m);
    limit = s->timeout_ms ? s->timeout_ms : LESSON_STEP_TIMEOUT_MS;
    switch (l->phase) {
    case LESSON_PRE:
        if (!check(l, m, s->pre)) {
            fill(l, m, waiting_words(s->pre), words, sizeof words);
            snprintf(l->status, sizeof l->status, "first, waiting for %s", words);
            break;
        }
        if (s->remember)
            remember(l, m);
        fill(l, m, s->text, l->text, sizeof l->text);
        {
            char prefix[48];
            snprintf(prefix, sizeof prefix, "Lesson %d/%d: ", l->step + 1, d->n_steps);
            say_long(h, prefix, l->text);
        }
        l->phase = s->action != LA_NONE ? LESSON_READING : LESSON_WAITING;
        l->phase_since = now_ms;
        l->status[0] = '\0';
        if (l->phase == LESSON_READING)
            snprintf(l->status, sizeof l->status, "about to happen...");
        break;
    case LESSON_READING:
        /* Getting the village ready is housekeeping, not the lesson: no reading time. */
        if (s->action != LA_RESTORE && now_ms - l->phase_since < LESSON_READ_MS)
            break;
        act(l, s->action, s, h, m);
        l->phase = LESSON_WAITING;
        l->phase_since = now_ms;
        break;
    case LESSON_WAITING:
        if (check(l, m, s->check)) {
            l->phase = LESSON_PASSED;
            l->phase_since = now_ms;
            l->results[l->step] = LESSON_STEP_PASSED;
            l->passed++;
            act(l, s->then, s, h, m);
            fill(l, m, s->seen, words, sizeof words);
            snprintf(l->status, sizeof l->status, "seen: %s", words);
            say_long(h, "Seen: ", words);
            break;
        }
        fill(l, m, waiting_words(s->check), words, sizeof words);
        snprintf(l->status, sizeof l->status, "%s %s",
                 s->learner ? "your turn; waiting for" : "waiting for", words);
        break;
    case LESSON_PASSED:
        if (now_ms - l->phase_since >= LESSON_DWELL_MS)
            enter_step(l, l->step + 1, now_ms, m, h);
        return;
    case LESSON_FAILED:
    case LESSON_IDLE:
    case LESSON_DONE:
        return;
    }
    if ((l->phase == LESSON_PRE || l->phase == LESSON_WAITING) && now_ms - l->step_since > limit) {
        l->phase = LESSON_FAILED;
        l->failures++;
        snprintf(words, sizeof words, "%.300s", l->status);
        snprintf(l->status, sizeof l->status,
                 "not seen within %u s (%.300s): t tries the step again, n skips it",
                 (unsigned)(limit / 1000), words);
        say_long(h, "Lesson: ", l->status);
    }
}

void lesson_retry(struct lesson *l, uint64_t now_ms, const struct lesson_hands *h)
{
    const struct lesson_def *d = def_of(l);
    char line[VILLAGE_FEED_TEXT_MAX];

    if (d == NULL || l->phase != LESSON_FAILED)
        return;
    snprintf(line, sizeof line, "Lesson: step %d again", l->step + 1);
    h->say(h->ctx, line);
    l->phase = LESSON_PRE;
    l->step_since = l->phase_since = now_ms;
}

void lesson_skip(struct lesson *l, const struct village_model *m, uint64_t now_ms,
                 const struct lesson_hands *h)
{
    const struct lesson_def *d = def_of(l);
    char line[VILLAGE_FEED_TEXT_MAX];

    if (d == NULL || l->phase == LESSON_DONE)
        return;
    if (l->phase == LESSON_READING) {
        /* The learner has read enough: the lesson acts now. */
        l->phase_since = now_ms - LESSON_READ_MS;
        lesson_tick(l, m, now_ms, h);
        return;
    }
    if (l->phase != LESSON_PASSED) {
        l->results[l->step] = LESSON_STEP_SKIPPED;
        l->skipped++;
        snprintf(line, sizeof line, "Lesson: step %d skipped", l->step + 1);
        h->say(h->ctx, line);
    }
    enter_step(l, l->step + 1, now_ms, m, h);
}

void lesson_hold(struct lesson *l, uint64_t ms)
{
    l->step_since += ms;
    l->phase_since += ms;
}

bool lesson_waits_at(const struct lesson *l, int step, uint64_t after_ms, uint64_t now_ms)
{
    return lesson_running(l) && l->step == step - 1 && l->phase == LESSON_WAITING &&
           now_ms - l->phase_since >= after_ms;
}

const char *lesson_phase_name(enum lesson_phase p)
{
    static const char *const names[] = {"idle",   "pre",    "reading", "waiting",
                                        "passed", "failed", "done"};
    return p >= 0 && p <= LESSON_DONE ? names[p] : "?";
}

struct json_object *lesson_to_json(const struct lesson *l)
{
    const struct lesson_def *d = def_of(l);
    struct json_object *o, *r;

    if (d == NULL)
        return NULL;
    o = json_object_new_object();
    r = json_object_new_array();
    json_object_object_add(o, "name", json_object_new_string(d->name));
    json_object_object_add(o, "step",
                           json_object_new_int(l->step < d->n_steps ? l->step + 1 : d->n_steps));
    json_object_object_add(o, "steps", json_object_new_int(d->n_steps));
    json_object_object_add(o, "phase", json_object_new_string(lesson_phase_name(l->phase)));
    json_object_object_add(o, "passed", json_object_new_int(l->passed));
    json_object_object_add(o, "skipped", json_object_new_int(l->skipped));
    json_object_object_add(o, "failures", json_object_new_int(l->failures));
    json_object_object_add(o, "done", json_object_new_boolean(l->phase == LESSON_DONE));
    for (int i = 0; i < d->n_steps && i < 32; i++)
        json_object_array_add(
            r, json_object_new_string(l->results[i] == LESSON_STEP_PASSED    ? "passed"
                                      : l->results[i] == LESSON_STEP_SKIPPED ? "skipped"
                                                                             : "not_run"));
    json_object_object_add(o, "results", r);
    json_object_object_add(o, "status", json_object_new_string(l->status));
    return o;
}
