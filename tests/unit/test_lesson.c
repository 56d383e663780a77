/* Unit tests of the lesson engine (visualization/lesson.c) and the lessons' table
 * (lessons.c), on a village model set by hand and hands that only record what the
 * lesson asked of them: the steps follow one another only when the model shows the
 * check holding, a step that never happens times out and can be tried again or
 * skipped, the lesson's own actions go through the hands, a log repair passes only once
 * the struck-out entry was seen, a membership change passes step by step only as the
 * configurations the peers report show it, and every text of the table fills in. */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "visualization/lesson.h"
#include "visualization/village_model.h"

static struct village_model m;
static struct lesson le;
static uint64_t now;

static struct {
    char said[256][VILLAGE_FEED_TEXT_MAX];
    int n_said;
    char submitted[8][64];
    int submit_slot[8], n_submits;
    int cut_off[8], n_cut_offs;
    int n_heals;
    int revived[8], n_revives;
} rec;

static void say(void *ctx, const char *text)
{
    (void)ctx;
    cr_assert_lt(strlen(text), VILLAGE_FEED_TEXT_MAX, "a feed line too long: %s", text);
    if (rec.n_said < 256)
        snprintf(rec.said[rec.n_said++], VILLAGE_FEED_TEXT_MAX, "%s", text);
}

static void submit(void *ctx, const char *command, int slot)
{
    (void)ctx;
    snprintf(rec.submitted[rec.n_submits], sizeof rec.submitted[0], "%s", command);
    rec.submit_slot[rec.n_submits++] = slot;
}

static void cut_off(void *ctx, int slot)
{
    (void)ctx;
    rec.cut_off[rec.n_cut_offs++] = slot;
}

static void heal(void *ctx)
{
    (void)ctx;
    rec.n_heals++;
}

static void revive(void *ctx, int slot)
{
    (void)ctx;
    rec.revived[rec.n_revives++] = slot;
}

static const struct lesson_hands hands = {NULL, say, submit, cut_off, heal, revive};

/* Slot i as a living villager of term, following leader (or leading when it is itself),
 * with a log of last entries of term, committed up to commit. */
static void set_peer(int i, uint64_t term, int leader, uint64_t last, uint64_t commit)
{
    struct village_peer *p = &m.peers[i];

    p->life = VILLAGE_ALIVE;
    p->term = term;
    p->role = i == leader ? VILLAGE_LEADER : VILLAGE_FOLLOWER;
    if (leader >= 0)
        memcpy(p->leader, m.peers[leader].name, sizeof p->leader);
    else
        p->leader[0] = '\0';
    p->last_index = last;
    p->commit_index = commit;
    p->log_tail_start = 1;
    p->n_log_tail = (int)last;
    for (uint64_t k = 0; k < last && k < VILLAGE_LOG_TAIL; k++)
        p->log_tail_terms[k] = term;
}

static void setup(void)
{
    memset(&rec, 0, sizeof rec);
    village_model_init(&m);
    village_model_add_peer(&m, 1, "peer1");
    village_model_add_peer(&m, 2, "peer2");
    village_model_add_peer(&m, 3, "peer3");
    village_model_set_n(&m, 3);
    for (int i = 0; i < 3; i++)
        set_peer(i, 2, 0, 5, 5);
    lesson_init(&le);
    now = 1000;
}

/* Ticks the lesson every 16 ms for ms. */
static void run(uint64_t ms)
{
    for (uint64_t end = now + ms; now < end; now += 16)
        lesson_tick(&le, &m, now, &hands);
}

static bool said(const char *words)
{
    for (int i = 0; i < rec.n_said; i++)
        if (strstr(rec.said[i], words))
            return true;
    return false;
}

Test(lesson, an_election_moves_on_only_as_the_model_shows_it, .init = setup)
{
    lesson_start(&le, lesson_find("election"), &m, now, &hands);
    run(3000);
    /* Ready: calm, so the first step passed and remembered peer1 as the old leader. */
    cr_assert_eq(le.step, 1, "step %d, status %s", le.step, le.status);
    cr_assert_eq(le.phase, LESSON_WAITING);
    cr_assert_eq(le.old, 0);
    cr_assert_eq(le.term, 2);
    cr_assert(said("peer1 leads term 2"));
    cr_assert(strstr(le.text, "peer1 leads term 2") != NULL, "%s", le.text);
    cr_assert_eq(rec.n_heals + rec.n_revives + rec.n_submits, 0, "nothing to restore or send");

    run(10000); /* nothing happens: the step waits */
    cr_assert_eq(le.step, 1);
    cr_assert_eq(le.phase, LESSON_WAITING);

    /* peer2 wins term 3 but the others have not voted for it yet. */
    for (int i = 0; i < 3; i++)
        set_peer(i, 3, 1, 5, 5);
    run(100);
    cr_assert_eq(le.leader, 1);
    cr_assert(said("peer2 won: it leads term 3, higher than 2"));
    run(3000);
    cr_assert_eq(le.step, 2);
    cr_assert_eq(le.phase, LESSON_WAITING, "votes are not shown yet");
    snprintf(m.peers[1].voted_for, VILLAGE_NAME_MAX, "peer2");
    run(3000);
    cr_assert_eq(le.step, 2, "one vote of three is no majority");
    snprintf(m.peers[2].voted_for, VILLAGE_NAME_MAX, "peer2");
    run(3000);
    cr_assert_eq(le.step, 3);
    run(3000); /* peer1 already follows peer2 in term 3 */
    cr_assert_eq(le.phase, LESSON_DONE);
    cr_assert_eq(le.passed, 4);
    cr_assert_eq(le.failures, 0);
    {
        struct json_object *o = lesson_to_json(&le);
        cr_assert_not_null(o);
        cr_assert_str_eq(json_object_to_json_string_ext(json_object_object_get(o, "results"),
                                                        JSON_C_TO_STRING_PLAIN),
                         "[\"passed\",\"passed\",\"passed\",\"passed\"]");
        cr_assert(json_object_get_boolean(json_object_object_get(o, "done")));
        cr_assert_eq(json_object_get_int(json_object_object_get(o, "step")), 4);
        json_object_put(o);
    }
}

Test(lesson, a_step_not_seen_in_time_offers_a_retry_and_a_skip, .init = setup)
{
    lesson_start(&le, lesson_find("election"), &m, now, &hands);
    run(3000);
    cr_assert_eq(le.step, 1);
    /* A paused picture holds the lesson's clocks: no timeout for the time paused. */
    now += 100000;
    lesson_hold(&le, 100000);
    run(100);
    cr_assert_eq(le.phase, LESSON_WAITING);
    run(LESSON_STEP_TIMEOUT_MS + 1000);
    cr_assert_eq(le.phase, LESSON_FAILED);
    cr_assert_eq(le.failures, 1);
    cr_assert(strstr(le.status, "t tries the step again, n skips it") != NULL, "%s", le.status);
    cr_assert(said("not seen within 45 s"));
    run(60000);
    cr_assert_eq(le.phase, LESSON_FAILED, "a failed step waits for the learner");

    lesson_retry(&le, now, &hands);
    cr_assert_eq(le.phase, LESSON_PRE);
    run(1000);
    cr_assert_eq(le.phase, LESSON_WAITING);
    run(LESSON_STEP_TIMEOUT_MS + 1000);
    cr_assert_eq(le.failures, 2);

    lesson_skip(&le, &m, now, &hands);
    cr_assert_eq(le.step, 2);
    cr_assert_eq(le.results[1], LESSON_STEP_SKIPPED);
    cr_assert_eq(le.skipped, 1);
}

Test(lesson, ready_heals_the_roads_and_revives_the_graves, .init = setup)
{
    m.peers[2].life = VILLAGE_GRAVE;
    m.peers[0].cut_to = 1u << 1; /* peer1 -> peer2 cut, as peer1 reports it */
    lesson_start(&le, lesson_find("crash"), &m, now, &hands);
    run(200);
    cr_assert_eq(rec.n_heals, 1);
    cr_assert_eq(rec.n_revives, 1);
    cr_assert_eq(rec.revived[0], 2);
    cr_assert_eq(le.step, 0, "not calm yet");
    cr_assert(strstr(le.status, "every villager alive") != NULL, "%s", le.status);
    m.peers[2].life = VILLAGE_ALIVE;
    m.peers[0].cut_to = 0;
    run(3000);
    cr_assert_eq(le.step, 1);
    /* Step 2 sends its command through the leader, after the words stood a moment, or
     * at once when the learner presses n then: the step is not skipped. */
    cr_assert_eq(rec.n_submits, 0);
    cr_assert_eq(le.phase, LESSON_READING);
    lesson_skip(&le, &m, now, &hands);
    cr_assert_eq(rec.n_submits, 1);
    cr_assert_eq(le.phase, LESSON_WAITING);
    cr_assert_eq(le.skipped, 0);
    cr_assert_str_eq(rec.submitted[0], "apples add 3");
    cr_assert_eq(rec.submit_slot[0], 0);
}

/* Lesson 5: the log repair passes only once the old leader's entry was seen struck
 * out, and then only with the leader's entry in its place, committed. */
Test(lesson, a_repair_needs_the_lost_entry_seen, .init = setup)
{
    lesson_start(&le, lesson_find("repair"), &m, now, &hands);
    run(3000);
    cr_assert_eq(le.step, 1);
    run(LESSON_READ_MS + 100);
    cr_assert_eq(rec.n_cut_offs, 1);
    cr_assert_eq(rec.cut_off[0], 0);
    cr_assert_eq(rec.n_submits, 1);
    cr_assert_eq(rec.submit_slot[0], 0, "the command goes to the old leader");

    /* peer1 appends entry 6 of term 2 and cannot commit it. */
    set_peer(0, 2, 0, 6, 5);
    run(2000);
    cr_assert_eq(le.step, 2, "%s", le.status);
    cr_assert_eq(le.entry, 6);
    cr_assert_eq(le.entry_term, 2);
    /* peer2 leads term 3 and commits its own entry 6; peer1 still has its own. */
    set_peer(1, 3, 1, 6, 6);
    set_peer(2, 3, 1, 6, 6);
    run(2000);
    cr_assert_eq(le.step, 3);
    run(2000); /* no road was cut in this model: healed at once */
    cr_assert_eq(le.step, 4);

    /* peer1 follows peer2 with the leader's entry, but no lost entry was seen. */
    set_peer(0, 3, 1, 6, 6);
    run(5000);
    cr_assert_eq(le.step, 4);
    cr_assert_eq(le.phase, LESSON_WAITING);
    m.peers[0].n_ghosts = 1;
    m.peers[0].ghost_index[0] = 6;
    m.peers[0].ghost_term[0] = 2;
    run(100);
    cr_assert(le.saw_lost);
    cr_assert_eq(le.phase, LESSON_PASSED);
    cr_assert(said("peer1's entry 6 of term 2 was struck out"));
    run(5000);
    cr_assert_eq(le.phase, LESSON_DONE, "%s", le.status);
    cr_assert_eq(le.passed, 6);
}

/* --- membership ----------------------------------------------------------------------- */

/* The village's configuration (slots as bits), as its leader's state gives it, and each
 * named villager's place in it; every living villager reports the same as its own. */
static void set_conf(uint16_t voters, uint16_t learners, bool pending, uint64_t index)
{
    m.membership_seen = true;
    m.voters = voters;
    m.learners = learners;
    m.conf_pending = pending;
    m.conf_index = index;
    for (int i = 0; i < VILLAGE_MAX_PEERS; i++) {
        struct village_peer *p = &m.peers[i];
        if (p->name[0] == '\0')
            continue;
        p->member = (voters >> i & 1u)     ? VILLAGE_MEMBER_VOTER
                    : (learners >> i & 1u) ? VILLAGE_MEMBER_LEARNER
                                           : VILLAGE_MEMBER_NONE;
        if (p->life != VILLAGE_ALIVE)
            continue;
        p->conf_voters = voters;
        p->conf_learners = learners;
        p->conf_pending = pending;
        p->conf_index = index;
    }
}

/* Three voters of a four-peer ini; peer4 never started: the one to call in. */
static void members_setup(void)
{
    setup();
    village_model_add_peer(&m, 4, "peer4");
    village_model_set_n(&m, 4);
    set_conf(0x7, 0, false, 1);
}

Test(lesson, a_membership_change_passes_only_as_the_configurations_show_it, .init = members_setup)
{
    lesson_start(&le, lesson_find("membership"), &m, now, &hands);
    run(3000);
    /* peer4, in no configuration, is neither awaited nor revived: the village is calm. */
    cr_assert_eq(le.step, 1, "step %d, status %s", le.step, le.status);
    cr_assert_eq(rec.n_revives, 0);
    cr_assert(said("peer1 leads 3 voters: a majority is 2 of 3"));
    cr_assert_eq(le.phase, LESSON_WAITING);

    /* peer4 starts with --join: running, in no configuration: not a learner yet. */
    set_peer(3, 0, -1, 0, 0);
    run(3000);
    cr_assert_eq(le.step, 1);
    cr_assert_eq(le.phase, LESSON_WAITING);
    /* The leader appends a configuration naming it a learner, but its state with it
     * was never heard (the stage can be shorter than the peers' gap between states);
     * only peer2's own state showed it a moment: that is enough. */
    m.peers[1].conf_learners = 0x8;
    run(50);
    cr_assert_eq(le.joiner, 3);
    m.peers[1].conf_learners = 0;
    set_conf(0x7, 0x8, false, 6);
    set_peer(3, 2, 0, 6, 5);
    run(3000);
    cr_assert(said("peer4 was seen as a learner"));
    cr_assert_eq(le.step, 2);
    run(3000);
    cr_assert_eq(le.step, 2, "a learner is no voter");

    set_conf(0xf, 0, true, 7);
    set_peer(3, 2, 0, 7, 6);
    run(3000);
    cr_assert(said("peer4 caught up and is a voter from entry 7"));
    cr_assert_eq(le.step, 3);
    /* Committed on the leader, but each follower still has it pending: not yet. */
    m.conf_pending = false;
    m.peers[0].conf_pending = false;
    run(3000);
    cr_assert_eq(le.step, 3, "the leader alone is no majority of four");
    m.peers[1].conf_pending = false;
    run(3000);
    cr_assert_eq(le.step, 3, "two of four are no majority");
    m.peers[3].conf_pending = false;
    run(3000);
    cr_assert(said("entry 7 is committed: 4 voters, a majority is 3 of 4 (it was 2 of 3)"));
    cr_assert_eq(le.step, 4);

    /* The leader removing itself is not the follower the step asks for. */
    set_conf(0xe, 0, false, 8);
    run(3000);
    cr_assert_eq(le.step, 4);
    cr_assert_eq(le.phase, LESSON_WAITING);
    /* peer2 removed: uncommitted first, then committed. */
    set_conf(0xd, 0, true, 8);
    run(3000);
    cr_assert_eq(le.step, 4, "an uncommitted removal is no removal yet");
    set_conf(0xd, 0, false, 8);
    run(3000);
    cr_assert_eq(le.gone, 1);
    cr_assert(
        said("peer2 is out: entry 8, without it, is committed; 3 voters, a majority is 2 of 3 (it "
             "was 3 of 4)"));
    cr_assert_eq(le.step, 5);
    /* Every member uses it, committed, but the village has not seen peer2 leave. */
    run(3000);
    cr_assert_eq(le.step, 5);
    cr_assert_eq(le.phase, LESSON_WAITING);
    m.peers[1].left = true;
    m.peers[1].member = VILLAGE_MEMBER_NONE;
    run(3000);
    cr_assert_eq(le.phase, LESSON_DONE, "%s", le.status);
    cr_assert_eq(le.passed, 6);
    cr_assert_eq(le.failures, 0);

    /* The next lesson neither revives nor awaits peer2, which exited once removed, and
     * counts majorities among the three voters left. */
    m.peers[1].life = VILLAGE_GRAVE;
    memset(&rec, 0, sizeof rec);
    lesson_start(&le, lesson_find("election"), &m, now, &hands);
    run(3000);
    cr_assert_eq(le.step, 1, "%s", le.status);
    cr_assert_eq(rec.n_revives, 0);
    for (int i = 0; i < 4; i++)
        if (i != 1)
            set_peer(i, 3, 2, 7, 7);
    run(3000);
    cr_assert_eq(le.step, 2);
    cr_assert(said("2 votes of 3 make a leader"), "majorities among the voters");
    snprintf(m.peers[3].voted_for, VILLAGE_NAME_MAX, "peer3");
    snprintf(m.peers[1].voted_for, VILLAGE_NAME_MAX, "peer3"); /* not a voter */
    m.peers[1].term = 3;
    run(3000);
    cr_assert_eq(le.step, 2, "a removed peer's vote does not count");
    snprintf(m.peers[2].voted_for, VILLAGE_NAME_MAX, "peer3");
    run(3000);
    cr_assert_eq(le.step, 3);
}

/* Leadership moves while the newcomer is promoted: the words name the leader now, and
 * the old leader, a follower by then, may be the one removed. */
Test(lesson, the_leader_may_change_before_the_removal, .init = members_setup)
{
    lesson_start(&le, lesson_find("membership"), &m, now, &hands);
    run(3000);
    cr_assert_eq(le.step, 1, "%s", le.status);
    set_peer(3, 0, -1, 0, 0);
    set_conf(0x7, 0x8, false, 6);
    set_peer(3, 2, 0, 6, 5);
    run(3000);
    cr_assert_eq(le.step, 2, "%s", le.status);
    /* peer3 wins term 3 and commits peer4's promotion. */
    for (int i = 0; i < 4; i++)
        set_peer(i, 3, 2, 7, 7);
    set_conf(0xf, 0, false, 7);
    run(3000); /* promoted */
    run(3000); /* committed */
    cr_assert_eq(le.step, 4, "%s", le.status);
    cr_assert(said("not peer3, who wears the crown"), "the words name the leader now");
    /* peer1, the leader the lesson began with, is removed. */
    set_conf(0xe, 0, false, 8);
    run(3000);
    cr_assert_eq(le.gone, 0);
    cr_assert_eq(le.step, 5, "%s", le.status);
}

/* Without a peer to call in the step waits; a learner before the lesson does not count;
 * the leader's "learner NAME caught up" line is enough when no state showed the learner. */
Test(lesson, a_joiner_is_seen_as_a_learner_in_the_leaders_words, .init = members_setup)
{
    village_model_feed_add(&m, 0, 2, now, "learner peer4 caught up (round 1)");
    set_peer(3, 0, -1, 0, 0); /* running already: not one to call in */
    lesson_start(&le, lesson_find("membership"), &m, now, &hands);
    run(3000);
    cr_assert_eq(le.step, 1);
    cr_assert_eq(le.phase, LESSON_PRE);
    cr_assert(strstr(le.status, "in no configuration and not running") != NULL, "%s", le.status);
    m.peers[3].life = VILLAGE_GRAVE;
    run(100);
    cr_assert_eq(le.phase, LESSON_WAITING);
    run(5000);
    cr_assert_eq(le.phase, LESSON_WAITING, "an old line is not this lesson's newcomer");
    village_model_feed_add(&m, 0, 2, now, "learner peer9 caught up (round 1)");
    village_model_feed_add(&m, 0, 2, now, "learner peer2 caught up (round 2)");
    run(3000);
    cr_assert_eq(le.phase, LESSON_WAITING, "no such peer, or a member already");
    village_model_feed_add(&m, 0, 2, now, "learner peer4 caught up (round 1)");
    run(100);
    cr_assert_eq(le.phase, LESSON_PASSED);
    cr_assert_eq(le.joiner, 3);
}

/* The leader's own state naming the newcomer a learner is seen too. */
Test(lesson, a_joiner_is_seen_as_a_learner_in_the_leaders_configuration, .init = members_setup)
{
    lesson_start(&le, lesson_find("membership"), &m, now, &hands);
    run(3000);
    cr_assert_eq(le.step, 1);
    m.learners = 0x8; /* the village's: its leader's */
    run(50);
    cr_assert_eq(le.phase, LESSON_PASSED);
    cr_assert_eq(le.joiner, 3);
}

/* No state and no line showed the newcomer a learner (a quick promotion, the leader at
 * log_level warn), but it is a voter now: it was a learner first, since the core adds
 * only learners; the lesson goes on rather than wait for a stage that has passed. */
Test(lesson, a_joiner_already_a_voter_was_a_learner, .init = members_setup)
{
    lesson_start(&le, lesson_find("membership"), &m, now, &hands);
    run(3000);
    cr_assert_eq(le.step, 1);
    cr_assert_eq(le.phase, LESSON_WAITING);
    set_conf(0xf, 0, true, 7);
    set_peer(3, 2, 0, 7, 6);
    run(100);
    cr_assert_eq(le.joiner, 3);
    cr_assert_eq(le.phase, LESSON_PASSED);
    run(3000);
    cr_assert(said("peer4 caught up and is a voter from entry 7"));
    cr_assert_eq(le.step, 3);
}

/* Every text of the table uses only placeholders the engine fills in, and each lesson
 * fits the engine's bounds. */
Test(lesson, the_table_is_well_formed)
{
    static const char *const known[] = {
        "{old}", "{leader}", "{victim}", "{entry}", "{term}",      "{newterm}", "{majority}",
        "{n}",   "{joiner}", "{gone}",   "{conf}",  "{majority0}", "{n0}"};

    cr_assert_geq(lesson_count, 6);
    for (int i = 0; i < lesson_count; i++) {
        const struct lesson_def *d = &lesson_table[i];
        cr_assert_eq(lesson_find(d->name), i);
        cr_assert_leq(d->n_steps, 32);
        cr_assert_gt(d->n_steps, 1);
        for (int s = 0; s < d->n_steps; s++) {
            const char *texts[] = {d->steps[s].text, d->steps[s].seen};
            cr_assert_not_null(d->steps[s].text, "%s step %d", d->name, s + 1);
            cr_assert_neq(d->steps[s].check, LC_NONE, "%s step %d checks nothing", d->name, s + 1);
            for (int t = 0; t < 2; t++)
                for (const char *p = texts[t]; p && (p = strchr(p, '{')) != NULL; p++) {
                    bool ok = false;
                    for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
                        ok = ok || strncmp(p, known[k], strlen(known[k])) == 0;
                    cr_assert(ok, "%s step %d: unknown placeholder in \"%s\"", d->name, s + 1, p);
                }
        }
    }
    cr_assert_eq(lesson_find("2"), 1);
    cr_assert_eq(lesson_find("0"), -1);
    cr_assert_eq(lesson_find("juggling"), -1);
    cr_assert_eq(lesson_find(""), -1);
}
