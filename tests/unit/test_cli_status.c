/* Unit tests for user_cli/status_table.c: parsing hostile or partial status
 * replies, picking the leader, and the table's content. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "user_cli/status_table.h"

static int parse(const char *line, struct peer_status *st)
{
    char err[128];
    return status_parse(line, strlen(line), st, err, sizeof(err));
}

Test(cli_status, full_leader_reply)
{
    struct peer_status st;
    cr_assert_eq(parse("{\"type\":\"status\",\"name\":\"peer1\",\"role\":\"leader\",\"term\":4,"
                       "\"leader\":\"peer1\",\"voted_for\":\"peer1\",\"commit_index\":42,"
                       "\"last_applied\":41,\"log_length\":40,\"first_index\":3,"
                       "\"snapshot_index\":2,\"followers\":[{\"name\":\"peer2\","
                       "\"match_index\":42,\"next_index\":43},{\"name\":\"peer3\","
                       "\"match_index\":7,\"next_index\":8}]}",
                       &st),
                 0);
    cr_assert(st.reachable);
    cr_assert_str_eq(st.name, "peer1");
    cr_assert_str_eq(st.role, "leader");
    cr_assert_str_eq(st.leader, "peer1");
    cr_assert_str_eq(st.voted_for, "peer1");
    cr_assert_eq(st.term, 4);
    cr_assert_eq(st.commit_index, 42);
    cr_assert_eq(st.last_applied, 41);
    cr_assert_eq(st.log_length, 40);
    cr_assert_eq(st.first_index, 3);
    cr_assert_eq(st.snapshot_index, 2);
    cr_assert_eq(st.n_followers, 2);
    cr_assert_str_eq(st.followers[1].name, "peer3");
    cr_assert_eq(st.followers[1].match_index, 7);
    cr_assert_eq(st.followers[1].next_index, 8);
}

Test(cli_status, missing_and_mistyped_fields_are_unset)
{
    struct peer_status st;
    cr_assert_eq(parse("{\"role\":\"follower\",\"term\":\"4\",\"leader\":null,"
                       "\"commit_index\":-5,\"followers\":{\"x\":1}}",
                       &st),
                 0);
    cr_assert(st.reachable);
    cr_assert_str_eq(st.role, "follower");
    cr_assert_str_eq(st.leader, "");
    cr_assert_eq(st.term, -1);
    cr_assert_eq(st.commit_index, -1);
    cr_assert_eq(st.log_length, -1);
    cr_assert_eq(st.n_followers, 0);
}

Test(cli_status, not_an_object_is_an_error)
{
    struct peer_status st;
    cr_assert_eq(parse("[1,2,3]", &st), -1);
    cr_assert(!st.reachable);
    cr_assert_eq(parse("{\"role\":", &st), -1);
    cr_assert_eq(parse("", &st), -1);
    cr_assert_eq(parse("{} trailing", &st), -1);
}

Test(cli_status, control_bytes_and_long_strings_are_tamed)
{
    struct peer_status st;
    char line[600];
    char longname[300];
    memset(longname, 'n', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    snprintf(line, sizeof(line), "{\"role\":\"lead\\u001b[2Jer\",\"name\":\"%s\"}", longname);
    cr_assert_eq(parse(line, &st), 0);
    cr_assert_eq(strchr(st.role, 0x1b), NULL);
    cr_assert_eq(strlen(st.name), sizeof(st.name) - 1);
}

Test(cli_status, too_many_followers_are_bounded)
{
    char line[8192] = "{\"role\":\"leader\",\"followers\":[";
    for (int i = 0; i < 40; i++)
        strcat(line, i ? ",{\"name\":\"p\"}" : "{\"name\":\"p\"}");
    strcat(line, "]}");
    struct peer_status st;
    cr_assert_eq(parse(line, &st), 0);
    cr_assert_eq(st.n_followers, CLUSTER_MAX_PEERS);
}

Test(cli_status, leader_is_the_highest_term_claim)
{
    struct peer_status st[3];
    memset(st, 0, sizeof(st));
    cr_assert_eq(status_find_leader(st, 3), -1);
    st[0].reachable = st[1].reachable = true;
    strcpy(st[0].role, "leader");
    st[0].term = 3;
    strcpy(st[1].role, "leader");
    st[1].term = 5;
    strcpy(st[2].role, "leader"); /* unreachable: its claim is stale */
    st[2].term = 9;
    cr_assert_eq(status_find_leader(st, 3), 1);
}

Test(cli_status, table_shows_every_peer_and_the_down_one)
{
    struct cluster_peer peers[3] = {
        {"peer1", "127.0.0.1", 6001}, {"peer2", "127.0.0.1", 6002}, {"peer3", "10.0.0.3", 6003}};
    struct peer_status st[3];
    cr_assert_eq(parse("{\"name\":\"peer1\",\"role\":\"leader\",\"term\":7,\"leader\":\"peer1\","
                       "\"commit_index\":12,\"last_applied\":12,\"log_length\":13,"
                       "\"followers\":[{\"name\":\"peer2\",\"match_index\":12,\"next_index\":13}]}",
                       &st[0]),
                 0);
    cr_assert_eq(parse("{\"name\":\"peer2\",\"role\":\"follower\",\"term\":7,\"leader\":\"peer1\","
                       "\"commit_index\":11,\"last_applied\":10,\"log_length\":13}",
                       &st[1]),
                 0);
    memset(&st[2], 0, sizeof(st[2]));
    strcpy(st[2].problem, "connect 10.0.0.3:6003: Connection refused");

    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    cr_assert_not_null(out);
    status_table_print(out, peers, st, 3);
    fclose(out);

    cr_assert(strstr(text, "NAME") == text, "%s", text);
    cr_assert(strstr(text, "COMMIT") && strstr(text, "APPLIED") && strstr(text, "LOG"));
    char *l1 = strstr(text, "\npeer1");
    char *l2 = strstr(text, "\npeer2");
    char *l3 = strstr(text, "\npeer3");
    cr_assert(l1 && l2 && l3, "%s", text);
    cr_assert(strstr(l1, "127.0.0.1:6001") && strstr(l1, "up") && strstr(l1, "leader"));
    cr_assert(strstr(l3, "10.0.0.3:6003") < strchr(l3 + 1, '\n'));
    cr_assert(strstr(l3, "DOWN") < strchr(l3 + 1, '\n'), "%s", text);
    cr_assert(strstr(text, "peer3 is unreachable: connect 10.0.0.3:6003: Connection refused"));
    cr_assert(strstr(text, "replication seen by peer1: peer2 match 12 next 13"), "%s", text);
    /* Columns line up: every row is as long as the header up to LOG. */
    size_t header_to_log = (size_t)(strstr(text, "LOG") - text);
    cr_assert_eq((size_t)(strchr(l1 + 1, '\n') - (l1 + 1)), header_to_log + strlen("LOG"), "%s",
                 text);
    free(text);
}

Test(cli_status, fetch_from_closed_port_reports_the_problem)
{
    struct cluster_peer p = {"peer9", "127.0.0.1", 1};
    struct peer_status st;
    char raw[64] = "junk";
    status_fetch(&p, 300, &st, raw, sizeof(raw));
    cr_assert(!st.reachable);
    cr_assert(st.problem[0] != '\0');
    cr_assert_str_eq(raw, "");
}

Test(cli_status, network_faults_get_one_line_per_peer)
{
    struct cluster_peer peers[2] = {{"peer1", "127.0.0.1", 6001}, {"peer2", "127.0.0.1", 6002}};
    struct peer_status st[2];
    cr_assert_eq(parse("{\"name\":\"peer1\",\"role\":\"follower\",\"term\":3,\"cut\":[\"peer2\","
                       "\"peer3\"],\"cut_to\":[],\"cut_from\":[\"peer4\",7],\"fault\":\"isolate "
                       "peer1\\u001b\",\"delay_ms\":200,\"pace\":10,\"fast_failover\":false}",
                       &st[0]),
                 0);
    cr_assert_str_eq(st[0].cut, "peer2, peer3");
    cr_assert_str_eq(st[0].cut_from, "peer4", "a non-string name is skipped");
    cr_assert_str_eq(st[0].fault, "isolate peer1?", "control bytes are masked");
    cr_assert_eq(st[0].delay_ms, 200);
    cr_assert_eq(parse("{\"name\":\"peer2\",\"role\":\"leader\",\"term\":3,\"cut\":[],"
                       "\"delay_ms\":0,\"fault\":null,\"pace\":1,\"fast_failover\":true}",
                       &st[1]),
                 0);
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    status_table_print(out, peers, st, 2);
    fclose(out);
    cr_assert(strstr(text, "network faults on peer1: cut from peer2, peer3; ignores peer4; delays "
                           "peer messages by 200 ms (isolate peer1?)\n"),
              "%s", text);
    cr_assert(!strstr(text, "network faults on peer2"), "%s", text);
    cr_assert(strstr(text, "lesson pace on peer1: 10x the ini's timeouts and heartbeat; fast "
                           "failover off\n"),
              "%s", text);
    cr_assert(!strstr(text, "lesson pace on peer2"), "at the ini's pace: %s", text);
    free(text);
}
