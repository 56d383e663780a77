/* test_village_model.c: the game's model of the cluster, fed datagram by datagram. */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "visualization/village_model.h"

static struct village_model m;

static void setup3(void)
{
    village_model_init(&m);
    cr_assert_eq(village_model_add_peer(&m, 1, "peer1"), 0);
    cr_assert_eq(village_model_add_peer(&m, 2, "peer2"), 0);
    cr_assert_eq(village_model_add_peer(&m, 3, "peer3"), 0);
}

static int feed(const char *s, uint64_t now)
{
    char err[128];
    return village_model_feed(&m, s, strlen(s), now, err, sizeof err);
}

static int feed_state(const char *peer, int id, const char *role, int term, uint64_t now)
{
    char buf[512];
    snprintf(buf, sizeof buf,
             "{\"type\":\"state\",\"peer\":\"%s\",\"id\":%d,\"n\":3,\"pid\":%d,\"role\":\"%s\","
             "\"term\":%d,\"voted_for\":null,\"leader\":null}",
             peer, id, 1000 + id, role, term);
    return feed(buf, now);
}

TestSuite(village_model, .init = setup3);

Test(village_model, file_names_the_villagers)
{
    cr_assert_eq(m.n, 3);
    cr_assert_eq(village_model_find(&m, "peer2"), 1);
    cr_assert_eq(village_model_find(&m, "nobody"), -1);
    cr_assert_eq(m.peers[0].life, VILLAGE_ABSENT);
    cr_assert_eq(village_model_add_peer(&m, 4, "peer1"), -1, "a name twice is refused");
    cr_assert_eq(village_model_add_peer(&m, 4, "bad name"), -1);
}

Test(village_model, full_state_updates_the_peer)
{
    const char *s =
        "{\"type\":\"state\",\"peer\":\"peer1\",\"id\":1,\"n\":3,\"pid\":1234,\"time_ms\":5,"
        "\"role\":\"leader\",\"term\":5,\"voted_for\":\"peer1\",\"leader\":\"peer1\","
        "\"first_index\":1,\"last_index\":42,\"commit_index\":41,\"last_applied\":41,"
        "\"persisted_index\":42,\"election_progress\":0,\"log_tail_start\":40,"
        "\"log_tail_terms\":[4,5,5],\"vars\":{\"x\":100,\"y\":-3},\"n_vars\":2,"
        "\"followers\":[{\"peer\":\"peer2\",\"next_index\":43,\"match_index\":42},"
        "{\"peer\":\"peer3\",\"next_index\":40,\"match_index\":12}],\"stopped\":false}";
    const struct village_peer *p = &m.peers[0];

    cr_assert_eq(feed(s, 100), 0);
    cr_assert_eq(p->life, VILLAGE_ALIVE);
    cr_assert_eq(p->role, VILLAGE_LEADER);
    cr_assert_eq(p->term, 5);
    cr_assert_str_eq(p->voted_for, "peer1");
    cr_assert_str_eq(p->leader, "peer1");
    cr_assert_eq(p->last_index, 42);
    cr_assert_eq(p->commit_index, 41);
    cr_assert_eq(p->pid, 1234);
    cr_assert_eq(p->n_log_tail, 3);
    cr_assert_eq(p->log_tail_start, 40);
    cr_assert_eq(p->log_tail_terms[2], 5);
    cr_assert_eq(p->n_vars, 2);
    cr_assert_str_eq(p->vars[0].name, "x");
    cr_assert_eq(p->vars[0].value, 100);
    cr_assert_eq(p->vars[1].value, -3);
    cr_assert_eq(p->n_followers, 2);
    cr_assert_str_eq(p->followers[1].peer, "peer3");
    cr_assert_eq(p->followers[1].next_index, 40);
    cr_assert_eq(p->followers[1].match_index, 12);
    cr_assert_eq(village_model_leader(&m), 0);
    cr_assert_eq(village_model_alive_count(&m), 1);
    cr_assert_eq(m.n_datagrams, 1);
}

Test(village_model, null_vote_and_leader_clear_the_names)
{
    cr_assert_eq(feed("{\"type\":\"state\",\"peer\":\"peer2\",\"id\":2,\"role\":\"follower\","
                      "\"term\":3,\"voted_for\":\"peer1\",\"leader\":\"peer1\"}",
                      10),
                 0);
    cr_assert_str_eq(m.peers[1].voted_for, "peer1");
    cr_assert_eq(feed("{\"type\":\"state\",\"peer\":\"peer2\",\"id\":2,\"role\":\"candidate\","
                      "\"term\":4,\"voted_for\":null,\"leader\":null}",
                      20),
                 0);
    cr_assert_str_eq(m.peers[1].voted_for, "");
    cr_assert_str_eq(m.peers[1].leader, "");
    cr_assert_eq(m.peers[1].role, VILLAGE_CANDIDATE);
    cr_assert_eq(m.peers[1].role_since_ms, 20);
}

Test(village_model, n_follows_the_stream)
{
    village_model_init(&m);
    for (int i = 1; i <= 7; i++) {
        char name[16];
        snprintf(name, sizeof name, "peer%d", i);
        village_model_add_peer(&m, i, name);
    }
    cr_assert_eq(m.n, 7, "before any state, the file's count");
    cr_assert_eq(feed_state("peer1", 1, "follower", 1, 5), 0);
    cr_assert_eq(m.n, 3, "then the largest n heard");
    village_model_set_n(&m, 5);
    cr_assert_eq(m.n, 5, "-n wins");
    cr_assert_eq(feed("{\"type\":\"state\",\"peer\":\"peer1\",\"n\":7,\"role\":\"follower\","
                      "\"term\":1}",
                      6),
                 0);
    cr_assert_eq(m.n, 5);
}

Test(village_model, unknown_peer_takes_its_id_slot)
{
    village_model_init(&m); /* no file at all */
    cr_assert_eq(m.n, 0);
    cr_assert_eq(feed_state("alpha", 2, "follower", 1, 5), 0);
    cr_assert_eq(village_model_find(&m, "alpha"), 1);
    cr_assert_eq(m.n, 3);
    cr_assert_neq(feed_state("beta", 2, "follower", 1, 5), 0, "slot 2 is alpha's");
    cr_assert_neq(feed_state("alpha", 3, "follower", 1, 5), 0, "alpha cannot move");
    cr_assert_neq(feed_state("gamma", 12, "follower", 1, 5), 0, "no slot 12");
}

Test(village_model, msg_makes_a_flight_that_lands)
{
    feed_state("peer1", 1, "leader", 2, 0);
    cr_assert_eq(feed("{\"type\":\"msg\",\"from\":\"peer1\",\"to\":\"peer2\","
                      "\"rpc\":\"append_entries\",\"term\":2,\"n_entries\":3}",
                      100),
                 0);
    cr_assert_eq(feed("{\"type\":\"msg\",\"from\":\"peer2\",\"to\":\"peer1\","
                      "\"rpc\":\"request_vote_result\",\"term\":2,\"vote_granted\":true}",
                      110),
                 0);
    cr_assert_eq(m.n_flights, 2);
    const struct village_flight *f = village_model_flight(&m, 0);
    cr_assert_eq(f->from, 0);
    cr_assert_eq(f->to, 1);
    cr_assert_eq(f->rpc, VILLAGE_RPC_APPEND_ENTRIES);
    cr_assert_eq(f->n_entries, 3);
    f = village_model_flight(&m, 1);
    cr_assert_eq(f->rpc, VILLAGE_RPC_REQUEST_VOTE_RESULT);
    cr_assert(f->ok);
    village_model_tick(&m, 100 + VILLAGE_FLIGHT_MS + 255);
    cr_assert_eq(m.n_flights, 1, "the first one landed");
    village_model_tick(&m, 10000);
    cr_assert_eq(m.n_flights, 0);
}

Test(village_model, heartbeats_are_thinned_but_news_is_not)
{
    const char *hb = "{\"type\":\"msg\",\"from\":\"peer1\",\"to\":\"peer2\","
                     "\"rpc\":\"append_entries\",\"term\":2,\"n_entries\":0}";
    const char *ok = "{\"type\":\"msg\",\"from\":\"peer2\",\"to\":\"peer1\","
                     "\"rpc\":\"append_entries_result\",\"term\":2,\"success\":true}";
    const char *no = "{\"type\":\"msg\",\"from\":\"peer2\",\"to\":\"peer1\","
                     "\"rpc\":\"append_entries_result\",\"term\":2,\"success\":false}";
    const char *full = "{\"type\":\"msg\",\"from\":\"peer1\",\"to\":\"peer2\","
                       "\"rpc\":\"append_entries\",\"term\":2,\"n_entries\":1}";

    for (int t = 0; t < 400; t += 50) { /* eight heartbeats and answers in 400 ms */
        cr_assert_eq(feed(hb, 1000 + (uint64_t)t), 0);
        cr_assert_eq(feed(ok, 1001 + (uint64_t)t), 0);
    }
    cr_assert_eq(m.n_flights, 2, "one heartbeat and one answer drawn");
    cr_assert_eq(m.n_thinned, 14);
    cr_assert_eq(feed(hb, 1000 + VILLAGE_ROUTINE_GAP_MS), 0);
    cr_assert_eq(m.n_flights, 3, "the next one after the gap");
    /* Refusals always fly; entries at most every VILLAGE_ENTRIES_GAP_MS. */
    cr_assert_eq(feed(full, 1410), 0);
    cr_assert_eq(feed(full, 1420), 0);
    cr_assert_eq(feed(no, 1421), 0);
    cr_assert_eq(feed(no, 1422), 0);
    cr_assert_eq(m.n_flights, 6);
    cr_assert_eq(feed(full, 1410 + VILLAGE_ENTRIES_GAP_MS), 0);
    cr_assert_eq(m.n_flights, 7);
    /* Another follower has its own allowance. */
    cr_assert_eq(feed("{\"type\":\"msg\",\"from\":\"peer1\",\"to\":\"peer3\","
                      "\"rpc\":\"append_entries\",\"term\":2}",
                      1423),
                 0);
    cr_assert_eq(m.n_flights, 8);
}

Test(village_model, flights_overflow_drops_the_oldest)
{
    for (int i = 0; i < VILLAGE_MAX_FLIGHTS + 10; i++) {
        char buf[200];
        snprintf(buf, sizeof buf,
                 "{\"type\":\"msg\",\"from\":\"peer1\",\"to\":\"peer3\",\"rpc\":"
                 "\"append_entries_result\",\"term\":%d,\"success\":false}",
                 i);
        cr_assert_eq(feed(buf, 5), 0);
    }
    cr_assert_eq(m.n_flights, VILLAGE_MAX_FLIGHTS);
    cr_assert_eq(village_model_flight(&m, 0)->term, 10);
}

Test(village_model, event_goes_to_the_feed)
{
    cr_assert_eq(feed("{\"type\":\"event\",\"peer\":\"peer2\",\"term\":5,"
                      "\"text\":\"timed out, starts election for term 5\"}",
                      7),
                 0);
    cr_assert_eq(m.n_feed, 1);
    const struct village_feed_line *l = village_model_feed_line(&m, 0);
    cr_assert_eq(l->slot, 1);
    cr_assert_eq(l->term, 5);
    cr_assert_str_eq(l->text, "timed out, starts election for term 5");
}

Test(village_model, feed_keeps_the_newest_and_cleans_text)
{
    for (int i = 0; i < VILLAGE_FEED_LINES + 5; i++) {
        char buf[64];
        snprintf(buf, sizeof buf, "line %d", i);
        village_model_feed_add(&m, -1, 0, (uint64_t)i, buf);
    }
    cr_assert_eq(m.n_feed, VILLAGE_FEED_LINES);
    cr_assert_str_eq(village_model_feed_line(&m, 0)->text, "line 5");
    village_model_feed_add(&m, -1, 0, 0, "a\tb\x1b[31mc");
    cr_assert_str_eq(village_model_feed_line(&m, VILLAGE_FEED_LINES - 1)->text, "a b [31mc");

    /* A long line of 3-byte characters is cut between characters, never inside one. */
    char big[1000] = "";
    for (int i = 0; i < 100; i++)
        strcat(big, "\xe2\x9c\x93"); /* U+2713 */
    village_model_feed_add(&m, -1, 0, 0, big);
    const char *t = village_model_feed_line(&m, VILLAGE_FEED_LINES - 1)->text;
    cr_assert_lt(strlen(t), (size_t)VILLAGE_FEED_TEXT_MAX);
    cr_assert_eq(strlen(t) % 3, 0);
}

Test(village_model, silent_peer_becomes_a_grave_and_rises)
{
    cr_assert_eq(feed_state("peer3", 3, "follower", 1, 1000), 0);
    village_model_tick(&m, 1000 + VILLAGE_STALE_MS);
    cr_assert_eq(m.peers[2].life, VILLAGE_ALIVE, "not yet");
    village_model_tick(&m, 1001 + VILLAGE_STALE_MS);
    cr_assert_eq(m.peers[2].life, VILLAGE_GRAVE);
    cr_assert_eq(m.peers[2].life_since_ms, 1001 + VILLAGE_STALE_MS);
    cr_assert_eq(village_model_alive_count(&m), 0);

    cr_assert_eq(feed_state("peer3", 3, "follower", 1, 5000), 0);
    cr_assert_eq(m.peers[2].life, VILLAGE_ALIVE, "it rose again");
    cr_assert_eq(m.peers[2].life_since_ms, 5000);
    int found = 0;
    for (int i = 0; i < m.n_feed; i++)
        found += strstr(village_model_feed_line(&m, i)->text, "rises") != NULL;
    cr_assert_eq(found, 1);
}

Test(village_model, leader_grave_is_not_the_leader)
{
    feed_state("peer1", 1, "leader", 2, 0);
    feed_state("peer2", 2, "follower", 2, 1000);
    cr_assert_eq(village_model_leader(&m), 0);
    village_model_tick(&m, 1600);
    cr_assert_eq(village_model_leader(&m), -1);
    feed_state("peer2", 2, "leader", 3, 1700);
    cr_assert_eq(village_model_leader(&m), 1);
}

Test(village_model, killed_peer_is_a_grave_at_once_and_late_states_do_not_revive_it)
{
    feed_state("peer2", 2, "follower", 1, 1000);
    village_model_mark_killed(&m, 1, 1010);
    cr_assert_eq(m.peers[1].life, VILLAGE_GRAVE);
    cr_assert_eq(feed_state("peer2", 2, "follower", 1, 1050), 0, "in flight before the crash");
    cr_assert_eq(m.peers[1].life, VILLAGE_GRAVE);

    /* A new process (new pid) is a real revival, even inside the grace. */
    village_model_mark_reviving(&m, 1, 1100);
    cr_assert(m.peers[1].reviving);
    cr_assert_eq(feed("{\"type\":\"state\",\"peer\":\"peer2\",\"id\":2,\"pid\":777,"
                      "\"role\":\"follower\",\"term\":1}",
                      1200),
                 0);
    cr_assert_eq(m.peers[1].life, VILLAGE_ALIVE);
    cr_assert_not(m.peers[1].reviving);
    cr_assert_eq(m.peers[1].pid, 777);
}

Test(village_model, kill_that_failed_shows_the_peer_alive_again)
{
    feed_state("peer2", 2, "follower", 1, 1000);
    village_model_mark_killed(&m, 1, 1000);
    feed_state("peer2", 2, "follower", 1, 1000 + VILLAGE_KILL_GRACE_MS + 1);
    cr_assert_eq(m.peers[1].life, VILLAGE_ALIVE);
}

Test(village_model, revive_that_never_comes_gives_up)
{
    village_model_mark_reviving(&m, 0, 100);
    village_model_tick(&m, 5000);
    cr_assert(m.peers[0].reviving);
    village_model_tick(&m, 20000);
    cr_assert_not(m.peers[0].reviving);
}

/* Each of these must be refused and leave the model untouched. */
static const char *const bad[] = {
    "",
    "not json",
    "[1,2,3]",
    "42",
    "{}",
    "{\"type\":7}",
    "{\"type\":\"weather\"}",
    "{\"type\":\"state\"}",
    "{\"type\":\"state\",\"peer\":\"peer1\",\"role\":\"leader\"}",
    "{\"type\":\"state\",\"peer\":\"peer1\",\"role\":\"king\",\"term\":1}",
    "{\"type\":\"state\",\"peer\":\"peer1\",\"role\":\"leader\",\"term\":\"5\"}",
    "{\"type\":\"state\",\"peer\":\"peer1\",\"role\":\"leader\",\"term\":-1}",
    "{\"type\":\"state\",\"peer\":\"peer1\",\"role\":\"leader\",\"term\":1.5}",
    "{\"type\":\"state\",\"peer\":\"pe er\",\"role\":\"leader\",\"term\":1,\"id\":4}",
    "{\"type\":\"state\",\"peer\":\"peer1\",\"role\":\"leader\",\"term\":1,"
    "\"election_progress\":1001}",
    "{\"type\":\"state\",\"peer\":\"peer1\",\"role\":\"leader\",\"term\":1,\"vars\":[1]}",
    "{\"type\":\"state\",\"peer\":\"peer1\",\"role\":\"leader\",\"term\":1,"
    "\"vars\":{\"1x\":1}}",
    "{\"type\":\"state\",\"peer\":\"peer1\",\"role\":\"leader\",\"term\":1,"
    "\"vars\":{\"x\":\"1\"}}",
    "{\"type\":\"state\",\"peer\":\"peer1\",\"role\":\"leader\",\"term\":1,"
    "\"log_tail_start\":1,\"log_tail_terms\":[1,\"a\"]}",
    "{\"type\":\"state\",\"peer\":\"peer1\",\"role\":\"leader\",\"term\":1,"
    "\"log_tail_terms\":[1]}",
    "{\"type\":\"state\",\"peer\":\"peer1\",\"role\":\"leader\",\"term\":1,"
    "\"followers\":[{\"peer\":\"peer2\"}]}",
    "{\"type\":\"state\",\"peer\":\"peer1\",\"role\":\"leader\",\"term\":1,"
    "\"followers\":{\"peer\":\"peer2\"}}",
    "{\"type\":\"state\",\"peer\":\"peer1\",\"role\":\"leader\",\"term\":1,\"stopped\":1}",
    "{\"type\":\"state\",\"peer\":\"peer1\",\"role\":\"leader\",\"term\":1,\"voted_for\":5}",
    "{\"type\":\"state\",\"peer\":\"peer1\",\"role\":\"leader\",\"term\":1} trailing",
    "{\"type\":\"msg\",\"from\":\"peer1\",\"to\":\"nobody\",\"rpc\":\"append_entries\"}",
    "{\"type\":\"msg\",\"from\":\"peer1\",\"to\":\"peer1\",\"rpc\":\"append_entries\"}",
    "{\"type\":\"msg\",\"from\":\"peer1\",\"to\":\"peer2\",\"rpc\":\"gossip\"}",
    "{\"type\":\"msg\",\"from\":\"peer1\",\"to\":\"peer2\"}",
    "{\"type\":\"event\",\"peer\":\"peer1\"}",
    "{\"type\":\"event\",\"peer\":\"stranger\",\"text\":\"hi\"}",
    "{\"type\":\"event\",\"peer\":\"peer1\",\"text\":[\"hi\"]}",
    "{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":{\"h\":1}}}}}}},\"type\":\"event\"}",
};

Test(village_model, bad_datagrams_are_ignored)
{
    struct village_model before;

    feed_state("peer1", 1, "leader", 4, 0);
    memcpy(&before, &m, sizeof m);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[128] = "";
        int rc = village_model_feed(&m, bad[i], strlen(bad[i]), 10, err, sizeof err);
        cr_assert_eq(rc, -1, "accepted: %s", bad[i]);
        cr_assert_neq(err[0], '\0', "no reason for: %s", bad[i]);
    }
    cr_assert_eq(m.n_rejected, sizeof bad / sizeof bad[0]);
    m.n_rejected = 0;
    memset(m.last_reject, 0, sizeof m.last_reject);
    memset(before.last_reject, 0, sizeof before.last_reject);
    cr_assert_eq(memcmp(&before, &m, sizeof m), 0, "a bad datagram changed the model");
}

Test(village_model, binary_and_oversized_datagrams_are_ignored)
{
    char buf[VILLAGE_DATAGRAM_MAX + 100];
    char err[128];

    memset(buf, ' ', sizeof buf);
    memcpy(buf, "{\"type\":\"event\"", 15);
    cr_assert_eq(village_model_feed(&m, buf, sizeof buf, 0, err, sizeof err), -1);
    const char nul[] = "{\"type\":\"event\",\"peer\":\"peer1\",\"text\":\"a\0b\"}";
    cr_assert_eq(village_model_feed(&m, nul, sizeof nul - 1, 0, err, sizeof err), -1);
    cr_assert_eq(village_model_feed(&m, NULL, 0, 0, err, sizeof err), -1);

    /* Random bytes, many times: never a crash (ASan runs this too). */
    unsigned seed = 12345;
    for (int round = 0; round < 2000; round++) {
        size_t n = (size_t)(rand_r(&seed) % 300) + 1;
        for (size_t i = 0; i < n; i++)
            buf[i] = (char)(rand_r(&seed) % 256);
        if (round % 2 == 0)
            memcpy(buf, "{\"type\":\"state\",\"peer\":\"peer1\",", n < 31 ? n : 31);
        village_model_feed(&m, buf, n, 0, err, sizeof err);
    }
}

Test(village_model, dump_is_json_with_every_villager)
{
    feed_state("peer1", 1, "leader", 4, 0);
    feed_state("peer2", 2, "follower", 4, 0);
    struct json_object *o = village_model_to_json(&m, 50);
    cr_assert_not_null(o);
    const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    cr_assert_not_null(strstr(s, "\"leader\":\"peer1\""), "%s", s);
    cr_assert_not_null(strstr(s, "\"alive\":2"), "%s", s);
    struct json_object *arr;
    cr_assert(json_object_object_get_ex(o, "villagers", &arr));
    cr_assert_eq(json_object_array_length(arr), 3);
    json_object_put(o);
}

/* --- network faults: cut roads, stale leaders, lost entries ---------------------------- */

/* A state of peerN with its network faults: cut, cut_to and cut_from are JSON arrays. */
static int feed_faults(const char *peer, int id, const char *role, int term, const char *cut,
                       const char *cut_to, const char *cut_from, uint64_t now)
{
    char buf[768];
    snprintf(buf, sizeof buf,
             "{\"type\":\"state\",\"peer\":\"%s\",\"id\":%d,\"n\":3,\"pid\":%d,\"role\":\"%s\","
             "\"term\":%d,\"cut\":%s,\"cut_to\":%s,\"cut_from\":%s,\"fault\":\"isolate %s\","
             "\"delay_ms\":0,\"held\":0,\"dropped_out\":4,\"dropped_in\":2}",
             peer, id, 1000 + id, role, term, cut, cut_to, cut_from, peer);
    return feed(buf, now);
}

static bool feed_has(const char *words)
{
    for (int i = 0; i < m.n_feed; i++)
        if (strstr(village_model_feed_line(&m, i)->text, words) != NULL)
            return true;
    return false;
}

Test(village_model, cuts_are_read_from_the_peers_own_reports)
{
    cr_assert_eq(feed_faults("peer1", 1, "leader", 2, "[\"peer2\"]", "[\"peer3\"]", "[]", 10), 0);
    cr_assert_eq(m.peers[0].cut_to, (1u << 1) | (1u << 2));
    cr_assert_eq(m.peers[0].cut_from, 1u << 1);
    cr_assert_str_eq(m.peers[0].fault, "isolate peer1");
    cr_assert_eq(m.peers[0].dropped_out, 4);
    cr_assert_eq(m.peers[0].dropped_in, 2);
    /* peer2 and peer3 have not spoken: peer1's word alone breaks the roads. */
    cr_assert(village_model_cut(&m, 0, 1));
    cr_assert(village_model_cut(&m, 1, 0), "peer1 ignores peer2: that way is cut too");
    cr_assert(village_model_cut(&m, 0, 2));
    cr_assert_not(village_model_cut(&m, 2, 0), "peer1 still hears peer3");
    cr_assert_eq(village_model_road(&m, 0, 1), 3);
    cr_assert_eq(village_model_road(&m, 0, 2), 1);
    cr_assert_eq(village_model_road(&m, 2, 0), 2);
    cr_assert_eq(village_model_road(&m, 1, 2), 0);
    cr_assert_eq(village_model_cut_roads(&m), 2);

    /* The other end's report counts as well: peer3 ignores peer2. */
    cr_assert_eq(feed_faults("peer3", 3, "follower", 2, "[]", "[]", "[\"peer2\"]", 20), 0);
    cr_assert(village_model_cut(&m, 1, 2));
    cr_assert_eq(village_model_road(&m, 1, 2), 1);

    /* A heal: no cut field at all reads as none. */
    cr_assert_eq(feed_state("peer1", 1, "leader", 2, 30), 0);
    cr_assert_eq(feed_state("peer3", 3, "follower", 2, 30), 0);
    cr_assert_eq(village_model_cut_roads(&m), 0);
    cr_assert_str_eq(m.peers[0].fault, "");

    /* A grave's last words do not count. */
    cr_assert_eq(feed_faults("peer1", 1, "leader", 2, "[\"peer2\"]", "[]", "[]", 40), 0);
    village_model_mark_killed(&m, 0, 50);
    cr_assert_eq(village_model_cut_roads(&m), 0);
}

Test(village_model, the_dump_shows_what_each_peer_reports)
{
    struct json_object *o, *vs, *v, *a;

    cr_assert_eq(feed_faults("peer1", 1, "leader", 2, "[\"peer2\"]", "[\"peer3\"]", "[]", 10), 0);
    o = village_model_to_json(&m, 10);
    cr_assert_eq(json_object_get_int(json_object_object_get(o, "cut_roads")), 2);
    vs = json_object_object_get(o, "villagers");
    v = json_object_array_get_idx(vs, 0);
    a = json_object_object_get(v, "cut");
    cr_assert_eq(json_object_array_length(a), 1);
    cr_assert_str_eq(json_object_get_string(json_object_array_get_idx(a, 0)), "peer2");
    a = json_object_object_get(v, "cut_to");
    cr_assert_eq(json_object_array_length(a), 1);
    cr_assert_str_eq(json_object_get_string(json_object_array_get_idx(a, 0)), "peer3");
    cr_assert_eq(json_object_array_length(json_object_object_get(v, "cut_from")), 0);
    cr_assert_str_eq(json_object_get_string(json_object_object_get(v, "fault")), "isolate peer1");
    json_object_put(o);
}

Test(village_model, bad_fault_fields_change_nothing)
{
    static const char *const bad_faults[] = {
        "\"cut\":\"peer2\"",
        "\"cut\":[1]",
        "\"cut\":[\"bad name\"]",
        "\"cut_to\":{}",
        "\"cut_from\":[null]",
        "\"delay_ms\":10001",
        "\"delay_ms\":-1",
        "\"held\":\"3\"",
        "\"fault\":7",
        "\"pace\":0",
        "\"pace\":51",
        "\"pace\":\"10\"",
        "\"fast_failover\":1",
        "\"cut\":[\"p1\",\"p2\",\"p3\",\"p4\",\"p5\",\"p6\",\"p7\",\"p8\",\"p9\",\"p10\",\"p11\","
        "\"p12\",\"p13\",\"p14\",\"p15\",\"p16\",\"p17\"]",
    };

    cr_assert_eq(feed_faults("peer1", 1, "leader", 2, "[\"peer2\"]", "[]", "[]", 10), 0);
    for (size_t i = 0; i < sizeof bad_faults / sizeof bad_faults[0]; i++) {
        char buf[512];
        struct village_peer before = m.peers[0];
        snprintf(buf, sizeof buf,
                 "{\"type\":\"state\",\"peer\":\"peer1\",\"id\":1,\"role\":\"follower\","
                 "\"term\":9,%s}",
                 bad_faults[i]);
        cr_assert_lt(feed(buf, 20), 0, "accepted: %s", buf);
        cr_assert_eq(memcmp(&before, &m.peers[0], sizeof before), 0, "changed by: %s", buf);
    }
    /* Names of peers the village does not show are fine, and skipped; long words are
     * cut, not refused. */
    cr_assert_eq(feed("{\"type\":\"state\",\"peer\":\"peer1\",\"id\":1,\"role\":\"leader\","
                      "\"term\":2,\"cut\":[\"peer12\"],\"delay_ms\":200,\"fault\":"
                      "\"partition {peer1} | {peer2,peer3,peer4,peer5,peer6,peer7,peer8,peer9,"
                      "peer10,peer11,peer12,peer13,peer14,peer15,peer16} and more words to be "
                      "cut off somewhere\"}",
                      30),
                 0);
    cr_assert_eq(m.peers[0].cut_to, 0);
    cr_assert_eq(m.peers[0].delay_ms, 200);
    cr_assert_eq(strlen(m.peers[0].fault), VILLAGE_FAULT_TEXT_MAX - 1);
}

Test(village_model, a_leader_cut_off_from_the_majority_is_stale_and_the_feed_says_so)
{
    char words[VILLAGE_FEED_TEXT_MAX];

    cr_assert_eq(feed_state("peer1", 1, "leader", 2, 0), 0);
    cr_assert_eq(feed_state("peer2", 2, "follower", 2, 0), 0);
    cr_assert_eq(feed_state("peer3", 3, "follower", 2, 0), 0);
    village_model_tick(&m, 10);
    cr_assert_not(village_model_leader_stale(&m, 0));

    /* One road cut: peer1 still reaches peer3, a majority of three. */
    cr_assert_eq(feed_faults("peer1", 1, "leader", 2, "[\"peer2\"]", "[]", "[]", 100), 0);
    village_model_tick(&m, 110);
    cr_assert_not(village_model_leader_stale(&m, 0));
    cr_assert_not(feed_has("cut"), "told before the peers settled");
    /* The change was first seen at the tick of 110. */
    village_model_tick(&m, 110 + VILLAGE_ROADS_SETTLE_MS);
    cr_assert(feed_has("roads cut: peer1-peer2"));

    /* Both: the crown stays, the majority is gone. */
    cr_assert_eq(feed_faults("peer1", 1, "leader", 2, "[\"peer2\",\"peer3\"]", "[]", "[]", 1000),
                 0);
    cr_assert_eq(feed_faults("peer2", 2, "follower", 2, "[\"peer1\"]", "[]", "[]", 1001), 0);
    cr_assert_eq(feed_faults("peer3", 3, "follower", 2, "[\"peer1\"]", "[]", "[]", 1002), 0);
    cr_assert(village_model_leader_stale(&m, 0));
    cr_assert_not(village_model_leader_stale(&m, 1), "a follower is never a stale leader");
    cr_assert_eq(village_model_leader(&m), 0, "it still leads as far as the picture goes");
    village_model_tick(&m, 1010);
    cr_assert(feed_has("peer1 still wears the crown but cannot reach a majority"));
    cr_assert(m.peers[0].stale_leader);
    village_model_describe_roads(&m, words, sizeof words);
    cr_assert_str_eq(words, "peer1 is cut off from peer2 and peer3");
    cr_assert_not(feed_has("peer1 is cut off"));
    village_model_tick(&m, 1010 + VILLAGE_ROADS_SETTLE_MS);
    cr_assert(feed_has("peer1 is cut off from peer2 and peer3"));

    /* The others elect peer2; the heal. */
    cr_assert_eq(feed_faults("peer2", 2, "leader", 3, "[\"peer1\"]", "[]", "[]", 1500), 0);
    cr_assert_eq(village_model_leader(&m), 1, "the higher term leads");
    cr_assert_not(village_model_leader_stale(&m, 1));
    cr_assert_eq(feed_state("peer1", 1, "leader", 2, 2000), 0);
    cr_assert_eq(feed_state("peer2", 2, "leader", 3, 2000), 0);
    cr_assert_eq(feed_state("peer3", 3, "follower", 3, 2000), 0);
    cr_assert_not(village_model_leader_stale(&m, 0));
    village_model_tick(&m, 2000);
    village_model_tick(&m, 2000 + VILLAGE_ROADS_SETTLE_MS);
    cr_assert(feed_has("healed: every road is open"));
    cr_assert(feed_has("peer1 reaches a majority again"));
}

Test(village_model, roads_in_words)
{
    char words[VILLAGE_FEED_TEXT_MAX];

    village_model_init(&m);
    for (int i = 1; i <= 5; i++) {
        char name[16];
        snprintf(name, sizeof name, "peer%d", i);
        village_model_add_peer(&m, i, name);
        cr_assert_eq(feed_state(name, i, "follower", 1, 0), 0);
    }
    village_model_set_n(&m, 5);
    village_model_describe_roads(&m, words, sizeof words);
    cr_assert_str_eq(words, "healed: every road is open");

    /* {peer1, peer2} | {peer3, peer4, peer5}, told by one side only. */
    cr_assert_eq(
        feed_faults("peer1", 1, "follower", 1, "[\"peer3\",\"peer4\",\"peer5\"]", "[]", "[]", 10),
        0);
    cr_assert_eq(
        feed_faults("peer2", 2, "follower", 1, "[\"peer3\",\"peer4\",\"peer5\"]", "[]", "[]", 10),
        0);
    village_model_describe_roads(&m, words, sizeof words);
    cr_assert_str_eq(words, "the village is split: {peer1, peer2} | {peer3, peer4, peer5}");

    /* A one-way cut besides: not a clean split any more. */
    cr_assert_eq(feed_faults("peer2", 2, "follower", 1, "[\"peer3\",\"peer4\",\"peer5\"]",
                             "[\"peer1\"]", "[]", 20),
                 0);
    village_model_describe_roads(&m, words, sizeof words);
    cr_assert_not_null(strstr(words, "roads cut: peer2 -> peer1, peer1-peer3, peer1-peer4"), "%s",
                       words);

    /* Words never overflow the feed line. */
    village_model_describe_roads(&m, words, 24);
    cr_assert_lt(strlen(words), 24);
}

static int feed_log(const char *peer, int id, const char *role, int term, int commit, int last,
                    int tail_start, const char *terms, uint64_t now)
{
    char buf[512];
    snprintf(buf, sizeof buf,
             "{\"type\":\"state\",\"peer\":\"%s\",\"id\":%d,\"pid\":%d,\"role\":\"%s\","
             "\"term\":%d,\"commit_index\":%d,\"last_index\":%d,\"log_tail_start\":%d,"
             "\"log_tail_terms\":%s}",
             peer, id, 1000 + id, role, term, commit, last, tail_start, terms);
    return feed(buf, now);
}

Test(village_model, entries_replaced_after_a_heal_fall_away)
{
    /* The stale leader wrote 4 and 5 in term 2, never committed. */
    cr_assert_eq(feed_log("peer1", 1, "leader", 2, 3, 5, 1, "[1,1,2,2,2]", 100), 0);
    cr_assert_eq(m.peers[0].n_ghosts, 0);
    /* Healed: the new leader's term-3 entries replace them from index 4 on. */
    cr_assert_eq(feed_log("peer1", 1, "follower", 3, 6, 6, 1, "[1,1,2,3,3,3]", 2000), 0);
    cr_assert_eq(m.peers[0].n_ghosts, 2);
    cr_assert_eq(m.peers[0].ghost_index[0], 4);
    cr_assert_eq(m.peers[0].ghost_term[0], 2);
    cr_assert_eq(m.peers[0].ghost_index[1], 5);
    cr_assert_eq(m.peers[0].ghosts_since_ms, 2000);
    cr_assert(feed_has("peer1 lost entries 4..5 (never committed, term 2): replaced by the "
                       "leader's"));
    /* Nothing lost the next time. */
    cr_assert_eq(feed_log("peer1", 1, "follower", 3, 6, 7, 1, "[1,1,2,3,3,3,3]", 2100), 0);
    cr_assert_eq(m.peers[0].ghosts_since_ms, 2000, "the ghosts of 2000 stay until they fade");

    /* A log that shrinks: 6 and 7 are gone, nothing in their place yet. */
    cr_assert_eq(feed_log("peer2", 2, "follower", 3, 4, 7, 1, "[1,1,2,3,3,3,3]", 3000), 0);
    cr_assert_eq(feed_log("peer2", 2, "follower", 4, 4, 5, 1, "[1,1,2,3,3]", 3100), 0);
    cr_assert_eq(m.peers[1].n_ghosts, 2);
    cr_assert(feed_has("peer2 lost entries 6..7 (never committed, term 3): cut off its log"));

    /* A log that grew past its tail tells nothing about the old entries: no ghosts. */
    cr_assert_eq(feed_log("peer3", 3, "follower", 3, 4, 4, 3, "[2,3]", 4000), 0);
    cr_assert_eq(feed_log("peer3", 3, "follower", 3, 40, 40, 9,
                          "[3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,"
                          "3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3]",
                          4100),
                 0);
    cr_assert_eq(m.peers[2].n_ghosts, 0);
}

/* A message held by a delay flies for that long (docs/GAME_STREAM.md, msg delay_ms);
 * a fast one for the minimum, so it is seen at all. */
Test(village_model, a_delayed_message_flies_for_its_delay)
{
    feed_state("peer1", 1, "candidate", 2, 0);
    cr_assert_eq(feed("{\"type\":\"msg\",\"from\":\"peer1\",\"to\":\"peer2\","
                      "\"rpc\":\"request_vote\",\"term\":2,\"delay_ms\":2000}",
                      100),
                 0);
    cr_assert_eq(feed("{\"type\":\"msg\",\"from\":\"peer1\",\"to\":\"peer3\","
                      "\"rpc\":\"request_vote\",\"term\":2,\"delay_ms\":100}",
                      100),
                 0);
    cr_assert_eq(village_model_flight(&m, 0)->flight_ms, 2000);
    cr_assert_eq(village_model_flight(&m, 1)->flight_ms, VILLAGE_FLIGHT_MS);
    /* Long after a plain flight would have landed, the slow ballot is still on its way. */
    village_model_tick(&m, 100 + 1900);
    cr_assert_eq(m.n_flights, 2);
    village_model_tick(&m, 100 + 2000 + 255);
    cr_assert_eq(m.n_flights, 0);
    /* Out of bounds, refused like the state's delay. */
    cr_assert_lt(feed("{\"type\":\"msg\",\"from\":\"peer1\",\"to\":\"peer3\","
                      "\"rpc\":\"request_vote\",\"term\":2,\"delay_ms\":10001}",
                      3000),
                 0);
}

/* Under a long delay routine heartbeats are thinned more: about four of a kind in the
 * air between two villagers, not one every 400 ms for the whole flight. */
Test(village_model, a_long_delay_thins_heartbeats_more)
{
    feed_state("peer1", 1, "leader", 2, 0);
    for (int t = 0; t < 4000; t += 50) {
        char buf[256];
        snprintf(buf, sizeof buf,
                 "{\"type\":\"msg\",\"from\":\"peer1\",\"to\":\"peer2\","
                 "\"rpc\":\"append_entries\",\"term\":2,\"n_entries\":0,\"delay_ms\":4000}");
        cr_assert_eq(feed(buf, (uint64_t)t + 1), 0);
    }
    cr_assert_leq(m.n_flights, 4, "%d heartbeats in the air", m.n_flights);
    cr_assert_geq(m.n_flights, 3);
}

Test(village_model, the_pace_comes_from_the_state)
{
    cr_assert_eq(feed("{\"type\":\"state\",\"peer\":\"peer1\",\"id\":1,\"role\":\"leader\","
                      "\"term\":2,\"pace\":20,\"fast_failover\":false}",
                      10),
                 0);
    cr_assert_eq(m.peers[0].pace, 20);
    cr_assert(!m.peers[0].fast_failover);
    /* An older peer says nothing: the ini's pace, fast failover on. */
    cr_assert_eq(feed_state("peer2", 2, "follower", 2, 10), 0);
    cr_assert_eq(m.peers[1].pace, 1);
    cr_assert(m.peers[1].fast_failover);
    struct json_object *o = village_model_to_json(&m, 20);
    const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    cr_assert(strstr(s, "\"pace\":20,\"fast_failover\":false"), "%s", s);
    json_object_put(o);
}
