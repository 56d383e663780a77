/* Unit tests for raft_peer/net/net_faults.c (parsing the fault control messages, the cut
 * each peer enforces, the words) and raft_peer/net/net_delay.c (held messages, in order,
 * bounded). */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raft_peer/net/event_loop.h"
#include "raft_peer/net/net_delay.h"
#include "raft_peer/net/net_faults.h"

static const char *const names[] = {"peer1", "peer2", "peer3", "peer4", "peer5"};

/* Parses a JSON object text with the given action against the first n names. */
static int parse(const char *json, int n, struct net_fault_request *req, char *err, size_t errlen)
{
    struct json_object *o = json_tokener_parse(json);
    cr_assert_not_null(o, "bad test JSON %s", json);
    struct json_object *a;
    cr_assert(json_object_object_get_ex(o, "action", &a));
    int rc = net_faults_parse(o, json_object_get_string(a), names, n, req, err, errlen);
    json_object_put(o);
    return rc;
}

static void parse_ok(const char *json, int n, struct net_fault_request *req)
{
    char err[256] = "";
    cr_assert_eq(parse(json, n, req, err, sizeof(err)), 0, "%s refused: %s", json, err);
}

static void parse_refused(const char *json, int n, const char *why)
{
    struct net_fault_request req;
    char err[256] = "";
    cr_assert_eq(parse(json, n, &req, err, sizeof(err)), -1, "%s accepted", json);
    cr_assert(strstr(err, why), "%s: '%s' lacks '%s'", json, err, why);
}

Test(net_faults, partition_sides_and_words)
{
    struct net_fault_request req;
    parse_ok("{\"action\":\"partition\",\"groups\":[[\"peer1\"],[\"peer2\",\"peer3\"]]}", 3, &req);
    cr_assert_str_eq(req.words, "partition {peer1} | {peer2,peer3}");
    struct net_faults f = {0};
    net_faults_apply(&f, &req, 2, 3);
    cr_assert(f.drop_to[1] && f.drop_from[1]);
    cr_assert(!f.drop_to[3] && !f.drop_from[3] && !f.drop_to[2]);
    char words[256];
    net_faults_describe_cuts(&f, names, 3, words, sizeof(words));
    cr_assert_str_eq(words, "cuts its links to peer1");
    cr_assert_str_eq(f.cause, "partition {peer1} | {peer2,peer3}");
}

Test(net_faults, unlisted_peers_form_one_more_side)
{
    struct net_fault_request req;
    parse_ok("{\"action\":\"partition\",\"groups\":[[\"peer1\"],[\"peer2\"]]}", 5, &req);
    cr_assert_str_eq(req.words, "partition {peer1} | {peer2} | {peer3,peer4,peer5}");
    struct net_faults f = {0};
    net_faults_apply(&f, &req, 4, 5);
    cr_assert(f.drop_to[1] && f.drop_to[2] && !f.drop_to[3] && !f.drop_to[5]);
}

Test(net_faults, isolate_is_a_partition_of_one)
{
    struct net_fault_request req;
    parse_ok("{\"action\":\"isolate\",\"target\":\"peer3\"}", 3, &req);
    cr_assert_str_eq(req.words, "isolate peer3");
    struct net_faults f = {0};
    net_faults_apply(&f, &req, 3, 3);
    char words[256];
    net_faults_describe_cuts(&f, names, 3, words, sizeof(words));
    cr_assert_str_eq(words, "cuts its links to peer1, peer2");
    struct net_faults g = {0};
    net_faults_apply(&g, &req, 1, 3);
    cr_assert(g.drop_to[3] && g.drop_from[3] && !g.drop_to[2]);
}

Test(net_faults, one_way_cut_adds_and_heal_clears)
{
    struct net_fault_request part, cut, heal;
    parse_ok("{\"action\":\"isolate\",\"target\":\"peer3\"}", 3, &part);
    parse_ok("{\"action\":\"cut\",\"from\":\"peer1\",\"to\":\"peer2\"}", 3, &cut);
    parse_ok("{\"action\":\"heal\"}", 3, &heal);
    struct net_faults sender = {0}, receiver = {0}, bystander = {0};
    net_faults_apply(&sender, &part, 1, 3);
    net_faults_apply(&sender, &cut, 1, 3);
    net_faults_apply(&receiver, &cut, 2, 3);
    net_faults_apply(&bystander, &cut, 3, 3);
    cr_assert(net_faults_drops_to(&sender, 2) && !net_faults_drops_from(&sender, 2));
    cr_assert(net_faults_drops_from(&receiver, 1) && !net_faults_drops_to(&receiver, 1));
    cr_assert(!net_faults_any_cut(&bystander, 3));
    cr_assert_str_eq(sender.cause, "isolate peer3; one-way cut peer1 -> peer2");
    char words[256];
    net_faults_describe_cuts(&sender, names, 3, words, sizeof(words));
    cr_assert_str_eq(words, "cuts its links to peer3; sends nothing to peer2");
    net_faults_describe_cuts(&receiver, names, 3, words, sizeof(words));
    cr_assert_str_eq(words, "ignores every message from peer1");
    net_faults_apply(&sender, &heal, 1, 3);
    cr_assert(!net_faults_any_cut(&sender, 3));
    cr_assert_str_eq(sender.cause, "");
    net_faults_describe_cuts(&sender, names, 3, words, sizeof(words));
    cr_assert_str_eq(words, "has no cut link");
}

Test(net_faults, delay_is_bounded_and_leaves_cuts_alone)
{
    struct net_fault_request req;
    parse_ok("{\"action\":\"delay\",\"ms\":200}", 3, &req);
    cr_assert_eq(req.delay_ms, 200);
    parse_ok("{\"action\":\"delay\",\"ms\":10000}", 3, &req);
    parse_ok("{\"action\":\"delay\",\"ms\":0}", 3, &req);
    parse_refused("{\"action\":\"delay\",\"ms\":10001}", 3, "0 to 10000");
    parse_refused("{\"action\":\"delay\",\"ms\":-5}", 3, "0 to 10000");
    parse_refused("{\"action\":\"delay\",\"ms\":2.5}", 3, "0 to 10000");
    parse_refused("{\"action\":\"delay\"}", 3, "0 to 10000");
    struct net_fault_request iso;
    parse_ok("{\"action\":\"isolate\",\"target\":\"peer1\"}", 3, &iso);
    struct net_faults f = {0};
    net_faults_apply(&f, &iso, 2, 3);
    parse_ok("{\"action\":\"delay\",\"ms\":50}", 3, &req);
    net_faults_apply(&f, &req, 2, 3);
    cr_assert_eq(f.delay_ms, 50);
    cr_assert(f.drop_to[1], "a delay must not heal");
}

Test(net_faults, hostile_requests_are_refused_with_a_reason)
{
    parse_refused("{\"action\":\"partition\"}", 3, "\"groups\"");
    parse_refused("{\"action\":\"partition\",\"groups\":{}}", 3, "\"groups\"");
    parse_refused("{\"action\":\"partition\",\"groups\":[]}", 3, "1 to 3 groups");
    parse_refused("{\"action\":\"partition\",\"groups\":[[\"peer1\"],[\"peer2\"],[\"peer3\"],[]]}",
                  3, "1 to 3 groups");
    parse_refused("{\"action\":\"partition\",\"groups\":[[]]}", 3, "group 1");
    parse_refused("{\"action\":\"partition\",\"groups\":[\"peer1\"]}", 3, "group 1");
    parse_refused("{\"action\":\"partition\",\"groups\":[[true]]}", 3, "name 1 of group 1");
    parse_refused("{\"action\":\"partition\",\"groups\":[[\"peer4\"]]}", 3,
                  "unknown peer 'peer4': this cluster is peer1 to peer3");
    parse_refused("{\"action\":\"partition\",\"groups\":[[\"peer1\",\"peer1\"]]}", 3,
                  "more than one group");
    parse_refused("{\"action\":\"partition\",\"groups\":[[\"pe er\"]]}", 3,
                  "not a valid peer name");
    parse_refused("{\"action\":\"partition\",\"groups\":[[\"peer1\\u0000x\"]]}", 3,
                  "not a valid peer name");
    parse_refused("{\"action\":\"isolate\",\"target\":7}", 3, "\"target\"");
    parse_refused("{\"action\":\"cut\",\"from\":\"peer1\"}", 3, "\"to\"");
    parse_refused("{\"action\":\"cut\",\"from\":\"peer2\",\"to\":\"peer2\"}", 3, "itself");
    cr_assert(!net_faults_is_action("crash"));
    cr_assert(net_faults_is_action("heal"));
}

/* net_delay: lines come out in order, after their time, and never beyond the bounds. */
struct released {
    char text[256];
    int n;
};

static void on_release(void *ctx, raft_id to, const char *line, size_t len)
{
    struct released *r = ctx;
    size_t used = strlen(r->text);
    snprintf(r->text + used, sizeof(r->text) - used, "%d:%.*s", to, (int)len, line);
    r->n++;
}

Test(net_delay, releases_in_order_after_the_delay)
{
    char err[128];
    struct event_loop *el = el_create(16, err, sizeof(err));
    cr_assert_not_null(el);
    struct released r = {0};
    struct net_delay d;
    net_delay_init(&d, el, on_release, &r);
    net_delay_set(&d, 30);
    bool first_drop;
    uint64_t t0 = el_now_ms();
    cr_assert_eq(net_delay_hold(&d, 2, "a\n", 2, &first_drop), 0);
    net_delay_set(&d, 1); /* a shorter delay never lets b overtake a */
    cr_assert_eq(net_delay_hold(&d, 3, "b\n", 2, &first_drop), 0);
    cr_assert_eq(d.lines, 2);
    while (r.n < 2 && el_now_ms() < t0 + 5000)
        el_run_once(el, 0);
    cr_assert_str_eq(r.text, "2:a\n3:b\n");
    cr_assert_geq(el_now_ms() - t0, 30);
    cr_assert_eq(d.lines, 0);
    net_delay_free(&d);
    el_free(el);
}

Test(net_delay, zero_releases_everything_at_once)
{
    char err[128];
    struct event_loop *el = el_create(16, err, sizeof(err));
    struct released r = {0};
    struct net_delay d;
    net_delay_init(&d, el, on_release, &r);
    net_delay_set(&d, 10000);
    bool first_drop;
    net_delay_hold(&d, 1, "x\n", 2, &first_drop);
    net_delay_hold(&d, 1, "y\n", 2, &first_drop);
    cr_assert_eq(r.n, 0);
    net_delay_set(&d, 0);
    cr_assert_str_eq(r.text, "1:x\n1:y\n");
    cr_assert_eq(d.timer, 0);
    net_delay_free(&d);
    el_free(el);
}

Test(net_delay, drops_past_the_bounds_and_says_so_once)
{
    char err[128];
    struct event_loop *el = el_create(16, err, sizeof(err));
    struct released r = {0};
    struct net_delay d;
    net_delay_init(&d, el, on_release, &r);
    net_delay_set(&d, 10000);
    size_t big = NET_DELAY_MAX_BYTES / 2 + 1;
    char *line = calloc(1, big);
    cr_assert_not_null(line);
    bool first_drop;
    cr_assert_eq(net_delay_hold(&d, 1, line, big, &first_drop), 0);
    cr_assert_eq(net_delay_hold(&d, 1, line, big, &first_drop), -1);
    cr_assert(first_drop);
    cr_assert_eq(net_delay_hold(&d, 1, line, big, &first_drop), -1);
    cr_assert(!first_drop, "the overflow is logged once, not per message");
    cr_assert_eq(d.dropped, 2);
    cr_assert_eq(d.lines, 1);
    free(line);
    net_delay_free(&d); /* frees what is held without releasing it */
    cr_assert_eq(r.n, 0);
    el_free(el);
}
