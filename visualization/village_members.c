/* village_members.c: who belongs to the village (docs/MEMBERSHIP.md). The village shows
 * the configuration of its living leader, the one that decides; a newcomer that is in no
 * configuration waits at the edge, a learner is an apprentice there, a voter stands in
 * the ring, and a peer removed by a committed configuration walks away. */
#include "visualization/village_model.h"
#include "visualization/village_model_internal.h"

#include <inttypes.h>
#include <stdio.h>

const char *village_member_name(enum village_member member)
{
    switch (member) {
    case VILLAGE_MEMBER_VOTER:
        return "voter";
    case VILLAGE_MEMBER_LEARNER:
        return "learner";
    case VILLAGE_MEMBER_NONE:
        return "none";
    case VILLAGE_MEMBER_UNKNOWN:
        break;
    }
    return "unknown";
}

/* " at index N", or nothing when the index is not known (a configuration from a
 * snapshot, or a peer that does not send it). */
static void at_index(char *out, size_t cap, uint64_t index)
{
    if (index > 0)
        snprintf(out, cap, " at index %" PRIu64, index);
    else
        out[0] = '\0';
}

/* Moves every villager to its place in the configuration the village shows, telling
 * the feed of each change. A removal counts once committed: until then the removed
 * peer still receives the log (§4.2.2) and keeps its place. */
static void apply_configuration(struct village_model *m, bool first, uint64_t now_ms)
{
    char at[40];

    at_index(at, sizeof at, m->conf_index);
    for (int i = 0; i < VILLAGE_MAX_PEERS; i++) {
        struct village_peer *p = &m->peers[i];
        enum village_member old = p->member, now;
        if (p->name[0] == '\0')
            continue;
        now = (m->voters >> i & 1u)     ? VILLAGE_MEMBER_VOTER
              : (m->learners >> i & 1u) ? VILLAGE_MEMBER_LEARNER
                                        : VILLAGE_MEMBER_NONE;
        if (now == old)
            continue;
        if (now == VILLAGE_MEMBER_NONE &&
            (old == VILLAGE_MEMBER_VOTER || old == VILLAGE_MEMBER_LEARNER)) {
            if (m->conf_pending)
                continue;
            char text[VILLAGE_FEED_TEXT_MAX];
            p->left = true;
            p->left_ms = now_ms;
            p->left_pid = p->pid;
            snprintf(text, sizeof text, "%s leaves the village: removed from the configuration%s",
                     p->name, at);
            village_model_feed_add(m, i, p->term, now_ms, text);
        } else if (!first && now == VILLAGE_MEMBER_LEARNER) {
            char text[VILLAGE_FEED_TEXT_MAX];
            snprintf(text, sizeof text,
                     old == VILLAGE_MEMBER_VOTER
                         ? "%s is a learner again%s: it keeps the log but no longer votes"
                         : "%s joins as an apprentice (a learner%s): it copies the log before "
                           "it may vote",
                     p->name, at);
            village_model_feed_add(m, i, p->term, now_ms, text);
        } else if (!first && now == VILLAGE_MEMBER_VOTER) {
            char text[VILLAGE_FEED_TEXT_MAX];
            snprintf(text, sizeof text,
                     old == VILLAGE_MEMBER_LEARNER
                         ? "%s has caught up and becomes a voter%s: it takes its place in the ring"
                         : "%s joins as a voter%s",
                     p->name, at);
            village_model_feed_add(m, i, p->term, now_ms, text);
        }
        /* No walk for those already there: the first configuration seen, or a newcomer
         * already waiting at the edge that becomes a learner. */
        if (first ||
            (old == VILLAGE_MEMBER_NONE && now == VILLAGE_MEMBER_LEARNER && p->told_waiting))
            p->member_since_ms = now_ms > VILLAGE_WALK_MS ? now_ms - VILLAGE_WALK_MS : 0;
        else
            p->member_since_ms = now_ms;
        p->member = now;
        if (now != VILLAGE_MEMBER_NONE) {
            p->left = false;
            p->told_waiting = false;
        }
    }
}

void village_model_note_membership(struct village_model *m, int slot, uint64_t now_ms)
{
    struct village_peer *p = &m->peers[slot];
    bool has = p->conf_voters != 0 || p->conf_learners != 0;

    /* A new process of a peer that left: it is back, as a newcomer. */
    if (p->left && p->pid != 0 && p->pid != p->left_pid) {
        p->left = false;
        p->told_waiting = false;
    }
    /* The leader's configuration decides; before any is seen, any peer's will do (a
     * village without a leader yet still shows its members). A leader of an older term
     * (cut off, not yet stepped down) does not override a newer one. */
    if (has && ((p->role == VILLAGE_LEADER && p->term >= m->conf_term) || !m->membership_seen)) {
        bool first = !m->membership_seen;
        m->membership_seen = true;
        m->voters = p->conf_voters;
        m->learners = p->conf_learners;
        m->conf_pending = p->conf_pending;
        m->conf_index = p->conf_index;
        if (p->role == VILLAGE_LEADER)
            m->conf_term = p->term;
        apply_configuration(m, first, now_ms);
    }
    if (m->membership_seen && p->member == VILLAGE_MEMBER_NONE && !p->left && !p->told_waiting &&
        !has) {
        char text[VILLAGE_FEED_TEXT_MAX];
        p->told_waiting = true;
        p->member_since_ms = now_ms;
        snprintf(text, sizeof text,
                 "%s walks up to the village: in no configuration yet, it waits to be added",
                 p->name);
        village_model_feed_add(m, slot, p->term, now_ms, text);
    }
}

bool village_model_shown(const struct village_model *m, int slot, uint64_t now_ms, bool *leaving)
{
    const struct village_peer *p;

    if (leaving)
        *leaving = false;
    if (slot < 0 || slot >= m->n)
        return false;
    if (!m->membership_seen)
        return true;
    p = &m->peers[slot];
    if (p->left) {
        bool walking = now_ms < p->left_ms + VILLAGE_LEAVE_MS;
        if (leaving)
            *leaving = walking;
        return walking;
    }
    if (p->member == VILLAGE_MEMBER_VOTER || p->member == VILLAGE_MEMBER_LEARNER)
        return true;
    return p->life != VILLAGE_ABSENT || p->reviving;
}

bool village_model_in_ring(const struct village_model *m, int slot, uint64_t now_ms)
{
    const struct village_peer *p;
    bool leaving;

    if (!village_model_shown(m, slot, now_ms, &leaving))
        return false;
    if (!m->membership_seen)
        return true;
    p = &m->peers[slot];
    /* A leaving villager keeps its place while it walks away; the ring closes after. */
    return p->member == VILLAGE_MEMBER_VOTER || leaving;
}

int village_model_next_to_add(const struct village_model *m)
{
    int n = m->n_from_file < VILLAGE_MAX_PEERS ? m->n_from_file : VILLAGE_MAX_PEERS;

    if (!m->membership_seen)
        return -1;
    for (int i = 0; i < n; i++) {
        const struct village_peer *p = &m->peers[i];
        if (p->name[0] != '\0' && p->member == VILLAGE_MEMBER_NONE && p->life != VILLAGE_ALIVE &&
            !p->reviving)
            return i;
    }
    return -1;
}

int village_model_extent(const struct village_model *m)
{
    int extent = 0;

    if (!m->membership_seen)
        return 0;
    for (int i = 0; i < VILLAGE_MAX_PEERS; i++) {
        const struct village_peer *p = &m->peers[i];
        if (p->name[0] != '\0' &&
            (p->member == VILLAGE_MEMBER_VOTER || p->member == VILLAGE_MEMBER_LEARNER ||
             p->life != VILLAGE_ABSENT || p->reviving))
            extent = i + 1;
    }
    return extent;
}
