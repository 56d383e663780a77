/* village_dump.c: the model as JSON, for --dump-state and the tests. */
#include "visualization/village_model.h"

#include <json-c/json.h>

#define DUMP_FEED_LINES 16

static struct json_object *name_or_null(const char *s)
{
    return s[0] ? json_object_new_string(s) : NULL;
}

/* The names of the slots in bits, among the shown ones. */
static struct json_object *names(const struct village_model *m, unsigned bits)
{
    struct json_object *a = json_object_new_array();

    for (int i = 0; a && i < m->n; i++)
        if (bits >> i & 1u)
            json_object_array_add(a, json_object_new_string(m->peers[i].name));
    return a;
}

/* The peer's own report of its network faults (docs/GAME_STREAM.md): "cut" both ways,
 * "cut_to" and "cut_from" one way only. */
static void faults_to_json(const struct village_model *m, const struct village_peer *p, int slot,
                           struct json_object *o)
{
    unsigned both = p->cut_to & p->cut_from;

    json_object_object_add(o, "cut", names(m, both));
    json_object_object_add(o, "cut_to", names(m, p->cut_to & ~both));
    json_object_object_add(o, "cut_from", names(m, p->cut_from & ~both));
    json_object_object_add(o, "fault", name_or_null(p->fault));
    json_object_object_add(o, "delay_ms", json_object_new_int64(p->delay_ms));
    json_object_object_add(o, "pace", json_object_new_int((int)(p->pace ? p->pace : 1)));
    json_object_object_add(o, "fast_failover", json_object_new_boolean(p->fast_failover));
    json_object_object_add(o, "dropped_out", json_object_new_int64((int64_t)p->dropped_out));
    json_object_object_add(o, "dropped_in", json_object_new_int64((int64_t)p->dropped_in));
    json_object_object_add(o, "stale_leader",
                           json_object_new_boolean(village_model_leader_stale(m, slot)));
    json_object_object_add(o, "lost_entries", json_object_new_int(p->n_ghosts));
}

/* Membership (docs/MEMBERSHIP.md): where the village places the villager. */
static void member_to_json(const struct village_model *m, const struct village_peer *p, int slot,
                           uint64_t now_ms, struct json_object *o)
{
    bool leaving, shown = village_model_shown(m, slot, now_ms, &leaving);

    json_object_object_add(o, "member", json_object_new_string(village_member_name(p->member)));
    json_object_object_add(o, "shown", json_object_new_boolean(shown));
    json_object_object_add(o, "in_ring",
                           json_object_new_boolean(village_model_in_ring(m, slot, now_ms)));
    json_object_object_add(o, "leaving", json_object_new_boolean(leaving));
    json_object_object_add(o, "left", json_object_new_boolean(p->left));
}

static struct json_object *peer_to_json(const struct village_peer *p)
{
    struct json_object *o = json_object_new_object();
    struct json_object *vars, *fol;

    if (o == NULL)
        return NULL;
    json_object_object_add(o, "peer", json_object_new_string(p->name));
    json_object_object_add(o, "id", json_object_new_int(p->id));
    json_object_object_add(o, "life", json_object_new_string(village_life_name(p->life)));
    json_object_object_add(o, "reviving", json_object_new_boolean(p->reviving));
    json_object_object_add(o, "pid", json_object_new_int64(p->pid));
    json_object_object_add(o, "role", json_object_new_string(village_role_name(p->role)));
    json_object_object_add(o, "term", json_object_new_int64((int64_t)p->term));
    json_object_object_add(o, "voted_for", name_or_null(p->voted_for));
    json_object_object_add(o, "leader", name_or_null(p->leader));
    json_object_object_add(o, "last_index", json_object_new_int64((int64_t)p->last_index));
    json_object_object_add(o, "commit_index", json_object_new_int64((int64_t)p->commit_index));
    json_object_object_add(o, "last_applied", json_object_new_int64((int64_t)p->last_applied));
    json_object_object_add(o, "election_progress", json_object_new_int((int)p->election_progress));
    json_object_object_add(o, "stopped", json_object_new_boolean(p->stopped));
    vars = json_object_new_object();
    for (int i = 0; vars && i < p->n_vars; i++)
        json_object_object_add(vars, p->vars[i].name, json_object_new_int64(p->vars[i].value));
    json_object_object_add(o, "vars", vars);
    fol = json_object_new_array();
    for (int i = 0; fol && i < p->n_followers; i++) {
        struct json_object *f = json_object_new_object();
        if (f == NULL)
            break;
        json_object_object_add(f, "peer", json_object_new_string(p->followers[i].peer));
        json_object_object_add(f, "next_index",
                               json_object_new_int64((int64_t)p->followers[i].next_index));
        json_object_object_add(f, "match_index",
                               json_object_new_int64((int64_t)p->followers[i].match_index));
        json_object_array_add(fol, f);
    }
    json_object_object_add(o, "followers", fol);
    return o;
}

struct json_object *village_model_to_json(const struct village_model *m, uint64_t now_ms)
{
    struct json_object *o = json_object_new_object();
    struct json_object *arr;
    int leader = village_model_leader(m);

    if (o == NULL)
        return NULL;
    json_object_object_add(o, "type", json_object_new_string("village"));
    json_object_object_add(o, "time_ms", json_object_new_int64((int64_t)now_ms));
    json_object_object_add(o, "n", json_object_new_int(m->n));
    json_object_object_add(o, "alive", json_object_new_int(village_model_alive_count(m)));
    json_object_object_add(o, "leader",
                           leader >= 0 ? json_object_new_string(m->peers[leader].name) : NULL);
    json_object_object_add(o, "term",
                           json_object_new_int64(leader >= 0 ? (int64_t)m->peers[leader].term : 0));
    json_object_object_add(o, "datagrams", json_object_new_int64((int64_t)m->n_datagrams));
    json_object_object_add(o, "rejected", json_object_new_int64((int64_t)m->n_rejected));
    json_object_object_add(o, "flights", json_object_new_int(m->n_flights));
    json_object_object_add(o, "thinned", json_object_new_int64((int64_t)m->n_thinned));
    json_object_object_add(o, "cut_roads", json_object_new_int(village_model_cut_roads(m)));
    json_object_object_add(o, "membership_seen", json_object_new_boolean(m->membership_seen));
    json_object_object_add(o, "voters", names(m, m->voters));
    json_object_object_add(o, "learners", names(m, m->learners));
    json_object_object_add(o, "config_pending", json_object_new_boolean(m->conf_pending));
    json_object_object_add(o, "config_index", json_object_new_int64((int64_t)m->conf_index));
    arr = json_object_new_array();
    for (int i = 0; arr && i < m->n; i++) {
        struct json_object *p = peer_to_json(&m->peers[i]);
        if (p) {
            faults_to_json(m, &m->peers[i], i, p);
            member_to_json(m, &m->peers[i], i, now_ms, p);
            json_object_array_add(arr, p);
        }
    }
    json_object_object_add(o, "villagers", arr);
    /* The last lines of the feed, newest last: what the village said in words. */
    arr = json_object_new_array();
    for (int i = m->n_feed > DUMP_FEED_LINES ? m->n_feed - DUMP_FEED_LINES : 0;
         arr && i < m->n_feed; i++)
        json_object_array_add(arr, json_object_new_string(village_model_feed_line(m, i)->text));
    json_object_object_add(o, "feed", arr);
    return o;
}
