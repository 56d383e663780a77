/* status.c: {"type":"status"}: this peer's own view, for user_cli's table and for tests. */
#include "raft_peer/status.h"

#include <unistd.h>

#include <json-c/json.h>

#include "raft_peer/peer.h"
#include "raft_peer/sm/state_machine.h"
#include "raft_peer/storage/storage.h"

static struct json_object *name_or_null(const struct peer *p, raft_id id)
{
    return id >= 1 && id <= p->n ? json_object_new_string(p->names[id - 1]) : NULL;
}

/* The leader's view of each follower (Figure 2's nextIndex and matchIndex), each named
 * under name_key; shared by status answers and the game stream. */
struct json_object *status_followers_json(const struct peer *p, const char *name_key)
{
    struct json_object *followers = json_object_new_array();
    for (raft_id id = 1; id <= p->n; id++) {
        raft_index next, match;
        if (!raft_progress(p->raft, id, &next, &match))
            continue;
        struct json_object *f = json_object_new_object();
        json_object_object_add(f, name_key, json_object_new_string(p->names[id - 1]));
        json_object_object_add(f, "next_index", json_object_new_uint64(next));
        json_object_object_add(f, "match_index", json_object_new_uint64(match));
        const struct raft_configuration *conf = raft_configuration(p->raft);
        json_object_object_add(f, "voter",
                               json_object_new_boolean(raft_configuration_is_voter(conf, id)));
        struct raft_catch_up cu;
        if (raft_catch_up(p->raft, id, &cu))
            json_object_object_add(f, "caught_up", json_object_new_boolean(cu.caught_up));
        json_object_array_add(followers, f);
    }
    return followers;
}

/* What our link to each follower holds (peer_links.c): whether the core calls it silent,
 * the bytes queued for it now, and those given up since start. Status only: the game
 * stream's datagrams stay small. */
static void add_link_fields(const struct peer *p, struct json_object *followers)
{
    size_t i = 0;
    for (raft_id id = 1; id <= p->n; id++) {
        if (!raft_progress(p->raft, id, NULL, NULL))
            continue;
        struct json_object *f = json_object_array_get_idx(followers, i++);
        if (!f)
            return;
        struct link_stats l = links_stats(p, id);
        json_object_object_add(f, "silent", json_object_new_boolean(l.silent));
        json_object_object_add(f, "queued_bytes", json_object_new_uint64(l.queued_bytes));
        json_object_object_add(f, "dropped_bytes", json_object_new_uint64(l.dropped_bytes));
    }
}

struct json_object *peer_names_json(const struct peer *p, uint32_t mask)
{
    struct json_object *a = json_object_new_array();
    for (raft_id id = 1; id <= RAFT_MAX_PEERS; id++) {
        if (!(mask & ((uint32_t)1 << id)))
            continue;
        if (id <= p->cfg.n_peers)
            json_object_array_add(a, json_object_new_string(p->cfg.peers[id - 1].name));
        else
            json_object_array_add(a, json_object_new_int(id)); /* not in this ini file */
    }
    return a;
}

int peer_cluster_size(const struct peer *p)
{
    const struct raft_configuration *conf = raft_configuration(p->raft);
    int n = 0;
    for (raft_id id = 1; id <= RAFT_MAX_PEERS; id++)
        n += raft_configuration_is_member(conf, id);
    return n > 0 ? n : p->boot_n;
}

void status_send(struct peer *p, struct conn *c)
{
    const struct raft *r = p->raft;
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "type", json_object_new_string("status"));
    json_object_object_add(o, "name", json_object_new_string(p->names[p->self - 1]));
    json_object_object_add(o, "id", json_object_new_int(p->self));
    json_object_object_add(o, "n", json_object_new_int(peer_cluster_size(p)));
    json_object_object_add(o, "pid", json_object_new_int((int)getpid()));
    json_object_object_add(o, "role", json_object_new_string(raft_role_name(raft_role(r))));
    json_object_object_add(o, "term", json_object_new_uint64(raft_current_term(r)));
    json_object_object_add(o, "leader", name_or_null(p, raft_leader(r)));
    json_object_object_add(o, "voted_for", name_or_null(p, raft_voted_for(r)));
    json_object_object_add(o, "commit_index", json_object_new_uint64(raft_commit_index(r)));
    json_object_object_add(o, "last_applied", json_object_new_uint64(sm_last_applied(p->sm)));
    json_object_object_add(o, "log_length", json_object_new_uint64(raft_last_index(r)));
    json_object_object_add(o, "first_index", json_object_new_uint64(raft_first_index(r)));
    json_object_object_add(o, "snapshot_index", json_object_new_uint64(raft_first_index(r) - 1));
    json_object_object_add(o, "persisted_index", json_object_new_uint64(raft_persisted_index(r)));
    json_object_object_add(o, "variables", json_object_new_uint64(sm_count(p->sm)));
    json_object_object_add(o, "stopped", json_object_new_boolean(p->stopped));
    /* The configuration it uses (dissertation §4.1: the latest in its log). */
    const struct raft_configuration *conf = raft_configuration(r);
    json_object_object_add(o, "voters", peer_names_json(p, conf->voters));
    json_object_object_add(o, "learners", peer_names_json(p, conf->learners));
    json_object_object_add(o, "config_pending",
                           json_object_new_boolean(raft_configuration_pending(r)));
    faults_add_json(p, o);
    pace_add_json(p, o);
    if (raft_role(r) == RAFT_LEADER) {
        struct json_object *followers = status_followers_json(p, "name");
        add_link_fields(p, followers);
        json_object_object_add(o, "followers", followers);
    }
    conn_send_json(p, c, o);
}
