/* test_village_members.c: membership in the game's model (docs/GAME.md, "Villagers join
 * and leave"), fed datagram by datagram: who is shown, who stands in the ring, and what
 * the feed says. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "visualization/layout.h"
#include "visualization/village_model.h"

static struct village_model m;

/* Five peers in the ini, as a cluster of three that grows. */
static void setup5(void)
{
    char name[16];

    village_model_init(&m);
    for (int i = 1; i <= 5; i++) {
        snprintf(name, sizeof name, "peer%d", i);
        cr_assert_eq(village_model_add_peer(&m, i, name), 0);
    }
}

TestSuite(village_members, .init = setup5);

/* A state of peer id with its configuration: voters and learners are JSON arrays. */
static int state(int id, const char *role, int term, const char *voters, const char *learners,
                 bool pending, int conf_index, uint64_t last, uint64_t now)
{
    char buf[1024], err[128];
    snprintf(buf, sizeof buf,
             "{\"type\":\"state\",\"peer\":\"peer%d\",\"id\":%d,\"n\":3,\"pid\":%d,"
             "\"role\":\"%s\",\"term\":%d,\"voters\":%s,\"learners\":%s,"
             "\"config_pending\":%s,\"config_index\":%d,\"last_index\":%llu}",
             id, id, 1000 + id, role, term, voters, learners, pending ? "true" : "false",
             conf_index, (unsigned long long)last);
    return village_model_feed(&m, buf, strlen(buf), now, err, sizeof err);
}

static const char *const three = "[\"peer1\",\"peer2\",\"peer3\"]";
static const char *const four = "[\"peer1\",\"peer2\",\"peer3\",\"peer4\"]";

static void three_alive(uint64_t now)
{
    cr_assert_eq(state(1, "leader", 2, three, "[]", false, 0, 10, now), 0);
    cr_assert_eq(state(2, "follower", 2, three, "[]", false, 0, 10, now), 0);
    cr_assert_eq(state(3, "follower", 2, three, "[]", false, 0, 10, now), 0);
}

static bool feed_says(const char *words)
{
    for (int i = 0; i < m.n_feed; i++)
        if (strstr(village_model_feed_line(&m, i)->text, words) != NULL)
            return true;
    return false;
}

Test(village_members, without_a_configuration_every_peer_of_the_file_is_shown)
{
    char err[128];
    const char *old = "{\"type\":\"state\",\"peer\":\"peer1\",\"id\":1,\"n\":3,\"role\":\"leader\","
                      "\"term\":1}";

    cr_assert_eq(village_model_feed(&m, old, strlen(old), 100, err, sizeof err), 0, "%s", err);
    cr_assert(!m.membership_seen);
    cr_assert_eq(m.n, 3, "the largest n heard, as before");
    for (int i = 0; i < 3; i++) {
        cr_assert(village_model_shown(&m, i, 100, NULL), "slot %d", i);
        cr_assert(village_model_in_ring(&m, i, 100));
        cr_assert_eq(m.peers[i].member, VILLAGE_MEMBER_UNKNOWN);
    }
    cr_assert_eq(village_model_next_to_add(&m), -1, "no membership news: nothing to add");
}

Test(village_members, members_in_the_ring_and_strangers_not_drawn)
{
    three_alive(100);
    cr_assert(m.membership_seen);
    cr_assert_eq(m.n, 3);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(m.peers[i].member, VILLAGE_MEMBER_VOTER);
        cr_assert(village_model_in_ring(&m, i, 100));
    }
    cr_assert_eq(m.peers[3].member, VILLAGE_MEMBER_NONE);
    cr_assert(!village_model_shown(&m, 3, 100, NULL), "peer4: no member, never heard");
    cr_assert(!village_model_shown(&m, 4, 100, NULL));
    cr_assert_eq(village_model_next_to_add(&m), 3, "peer4 is the next to add");
    cr_assert(!feed_says("joins as"), "the first configuration seen is not news");
}

Test(village_members, a_voter_not_heard_yet_is_a_plot_in_the_ring)
{
    cr_assert_eq(state(1, "leader", 2, three, "[]", false, 0, 10, 100), 0);
    cr_assert(village_model_shown(&m, 2, 100, NULL), "peer3 is a voter: its plot is drawn");
    cr_assert(village_model_in_ring(&m, 2, 100));
    cr_assert_eq(m.peers[2].life, VILLAGE_ABSENT);
}

Test(village_members, a_newcomer_waits_then_learns_then_votes)
{
    struct layout l;

    three_alive(100);
    /* peer4 --join: empty configuration, heard from. */
    cr_assert_eq(state(4, "follower", 0, "[]", "[]", false, 0, 0, 200), 0);
    cr_assert_eq(m.n, 4, "the village reaches peer4");
    cr_assert(village_model_shown(&m, 3, 200, NULL));
    cr_assert(!village_model_in_ring(&m, 3, 200), "it waits apart");
    cr_assert(feed_says("peer4 walks up to the village: in no configuration yet"));
    cr_assert_eq(village_model_next_to_add(&m), 4, "peer4 runs: peer5 is next");

    /* The leader adds it as a learner: an apprentice, apart, its log catching up. */
    cr_assert_eq(state(1, "leader", 2, three, "[\"peer4\"]", true, 11, 11, 300), 0);
    cr_assert_eq(m.peers[3].member, VILLAGE_MEMBER_LEARNER);
    cr_assert(!village_model_in_ring(&m, 3, 300));
    cr_assert(feed_says("peer4 joins as an apprentice (a learner at index 11)"));
    layout_compute(&l, 1280, 800, m.n);
    layout_place(&l, &m, 300);
    cr_assert(l.shown[3] && l.apprentice[3]);
    cr_assert(!layout_has_road(&l, 0, 3), "no road to an apprentice");
    cr_assert(layout_has_road(&l, 0, 1));
    cr_assert_gt(l.vx[3], l.vx[0], "apprentices stand at the right edge");

    /* A follower's configuration does not override the leader's. */
    cr_assert_eq(state(2, "follower", 2, three, "[]", false, 0, 10, 350), 0);
    cr_assert_eq(m.peers[3].member, VILLAGE_MEMBER_LEARNER);

    /* Promoted: into the ring. */
    cr_assert_eq(state(1, "leader", 2, four, "[]", true, 12, 12, 400), 0);
    cr_assert_eq(m.peers[3].member, VILLAGE_MEMBER_VOTER);
    cr_assert(village_model_in_ring(&m, 3, 400));
    cr_assert(feed_says("peer4 has caught up and becomes a voter at index 12"));
    layout_place(&l, &m, 400 + VILLAGE_WALK_MS);
    cr_assert(!l.apprentice[3]);
    cr_assert(layout_has_road(&l, 0, 3));
}

Test(village_members, a_removal_counts_once_committed_and_the_peer_walks_away)
{
    const char *two = "[\"peer1\",\"peer3\"]";
    bool leaving;

    three_alive(100);
    /* Appended, not committed: peer2 keeps its place, it still gets the log. */
    cr_assert_eq(state(1, "leader", 2, two, "[]", true, 57, 57, 200), 0);
    cr_assert_eq(m.peers[1].member, VILLAGE_MEMBER_VOTER);
    cr_assert(!m.peers[1].left);
    cr_assert(!feed_says("leaves the village"));

    cr_assert_eq(state(1, "leader", 2, two, "[]", false, 57, 57, 300), 0);
    cr_assert_eq(m.peers[1].member, VILLAGE_MEMBER_NONE);
    cr_assert(m.peers[1].left);
    cr_assert(feed_says("peer2 leaves the village: removed from the configuration at index 57"));
    cr_assert(village_model_shown(&m, 1, 300, &leaving) && leaving, "it walks away");
    cr_assert(village_model_in_ring(&m, 1, 300), "its place is kept while it walks");

    /* Its own states still arrive (same process): it stays gone once it has walked. */
    cr_assert_eq(state(2, "follower", 2, three, "[]", false, 0, 57, 300 + VILLAGE_LEAVE_MS), 0);
    cr_assert(!village_model_shown(&m, 1, 300 + VILLAGE_LEAVE_MS, NULL));
    /* It exits: silent, but no grave is news. */
    village_model_tick(&m, 300 + VILLAGE_LEAVE_MS + VILLAGE_STALE_MS + 10);
    cr_assert(!feed_says("peer2 fell silent"));
    cr_assert(!village_model_shown(&m, 1, 300 + VILLAGE_LEAVE_MS + VILLAGE_STALE_MS + 10, NULL));
}

Test(village_members, a_removed_peer_started_again_comes_back_as_a_newcomer)
{
    const char *two = "[\"peer1\",\"peer3\"]";
    char buf[512], err[128];

    three_alive(100);
    cr_assert_eq(state(1, "leader", 2, two, "[]", false, 57, 57, 200), 0);
    cr_assert(m.peers[1].left);
    snprintf(buf, sizeof buf,
             "{\"type\":\"state\",\"peer\":\"peer2\",\"id\":2,\"pid\":7777,\"role\":\"follower\","
             "\"term\":2,\"voters\":[],\"learners\":[]}");
    cr_assert_eq(village_model_feed(&m, buf, strlen(buf), 5000, err, sizeof err), 0, "%s", err);
    cr_assert(!m.peers[1].left, "a new process: back at the edge");
    cr_assert(village_model_shown(&m, 1, 5000, NULL));
    cr_assert(!village_model_in_ring(&m, 1, 5000));
}

Test(village_members, an_older_leader_does_not_override_the_configuration)
{
    three_alive(100);
    cr_assert_eq(state(2, "leader", 3, four, "[]", false, 20, 20, 200), 0);
    cr_assert_eq(m.peers[3].member, VILLAGE_MEMBER_VOTER);
    /* peer1, cut off in term 2, still says it leads with the old configuration. */
    cr_assert_eq(state(1, "leader", 2, three, "[]", false, 0, 10, 300), 0);
    cr_assert_eq(m.peers[3].member, VILLAGE_MEMBER_VOTER);
    cr_assert_eq(m.conf_index, 20);
}

Test(village_members, bad_configurations_are_refused_whole)
{
    three_alive(100);
    cr_assert_lt(state(1, "leader", 2, "[\"peer1\",\"peer2\"]", "[\"peer2\"]", false, 5, 10, 200),
                 0, "a voter and a learner at once");
    cr_assert_lt(state(1, "leader", 2, "[\"bad name\"]", "[]", false, 5, 10, 200), 0);
    cr_assert_lt(state(1, "leader", 2, "\"peer1\"", "[]", false, 5, 10, 200), 0);
    cr_assert_lt(state(1, "leader", 2, "[1,2]", "[]", false, 5, 10, 200), 0);
    cr_assert_eq(m.peers[1].member, VILLAGE_MEMBER_VOTER, "nothing applied");
    /* Names the village does not show are skipped, as in the cut lists. */
    cr_assert_eq(state(1, "leader", 2, "[\"peer1\",\"peer2\",\"peer3\",\"peer12\"]", "[]", false, 5,
                       10, 300),
                 0);
}

Test(village_members, counts_are_of_members_not_of_every_slot)
{
    int alive = -1;
    three_alive(100);
    /* peer4 joins as a learner and is heard from; peer5 is in the file only. */
    cr_assert_eq(state(1, "leader", 2, three, "[\"peer4\"]", true, 11, 11, 200), 0);
    cr_assert_eq(state(4, "follower", 2, three, "[\"peer4\"]", true, 11, 11, 200), 0);
    cr_assert_eq(village_model_members(&m, false, &alive), 4, "3 voters and a learner");
    cr_assert_eq(alive, 4);
    cr_assert_eq(village_model_members(&m, true, &alive), 3, "a learner has no vote");
    cr_assert_eq(alive, 3);
    /* peer3 is removed: the leader's configuration names it no more. */
    cr_assert_eq(state(1, "leader", 2, "[\"peer1\",\"peer2\"]", "[\"peer4\"]", false, 12, 12, 300),
                 0);
    cr_assert_eq(village_model_members(&m, true, &alive), 2, "the removed peer is no voter");
    cr_assert_eq(alive, 2);
    cr_assert_eq(village_model_members(&m, false, &alive), 3);
}
