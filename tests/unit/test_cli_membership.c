/* Unit tests for user_cli/membership.c and the membership parts of status_table.c
 * and messages.c: which lines are membership changes, the request they send, the
 * configuration a leader's status reports, and the sentences shown. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "user_cli/membership.h"
#include "user_cli/messages.h"
#include "user_cli/status_table.h"

static enum membership_parse_result parse(const char *text, struct membership_change *ch)
{
    static char err[160];
    err[0] = '\0';
    return membership_parse(text, ch, err, sizeof(err));
}

Test(cli_membership, changes_are_parsed)
{
    struct membership_change ch;
    cr_assert_eq(parse("add peer4", &ch), MEMBERSHIP_PARSED);
    cr_assert_eq(ch.action, MEMBERSHIP_ADD);
    cr_assert_str_eq(ch.peer, "peer4");
    cr_assert(!ch.learner);
    cr_assert_eq(parse("add  peer5\t--learner", &ch), MEMBERSHIP_PARSED);
    cr_assert_eq(ch.action, MEMBERSHIP_ADD);
    cr_assert_str_eq(ch.peer, "peer5");
    cr_assert(ch.learner);
    cr_assert_eq(parse("promote peer4", &ch), MEMBERSHIP_PARSED);
    cr_assert_eq(ch.action, MEMBERSHIP_PROMOTE);
    cr_assert_eq(parse("remove peer_2-b", &ch), MEMBERSHIP_PARSED);
    cr_assert_eq(ch.action, MEMBERSHIP_REMOVE);
    cr_assert_str_eq(ch.peer, "peer_2-b");
}

Test(cli_membership, variables_named_like_the_words_stay_commands)
{
    struct membership_change ch;
    cr_assert_eq(parse("add get", &ch), MEMBERSHIP_NOT_MINE);
    cr_assert_eq(parse("remove del", &ch), MEMBERSHIP_NOT_MINE);
    cr_assert_eq(parse("add set 5", &ch), MEMBERSHIP_NOT_MINE);
    cr_assert_eq(parse("promote add 1", &ch), MEMBERSHIP_NOT_MINE);
    cr_assert_eq(parse("remove cas 1 2", &ch), MEMBERSHIP_NOT_MINE);
    cr_assert_eq(parse("x add 5", &ch), MEMBERSHIP_NOT_MINE);
    cr_assert_eq(parse("members", &ch), MEMBERSHIP_NOT_MINE);
    cr_assert_eq(parse("addx peer4", &ch), MEMBERSHIP_NOT_MINE);
    /* --learner only goes with add. */
    cr_assert_eq(parse("promote peer4 --learner", &ch), MEMBERSHIP_NOT_MINE);
}

Test(cli_membership, misuse_says_how)
{
    struct membership_change ch;
    char err[160];
    cr_assert_eq(membership_parse("add", &ch, err, sizeof(err)), MEMBERSHIP_USAGE);
    cr_assert(strstr(err, "usage: add PEER [--learner]"), "%s", err);
    cr_assert_eq(membership_parse("remove", &ch, err, sizeof(err)), MEMBERSHIP_USAGE);
    cr_assert(strstr(err, "usage: remove PEER"), "%s", err);
    cr_assert_eq(membership_parse("promote pe.er4", &ch, err, sizeof(err)), MEMBERSHIP_USAGE);
    cr_assert(strstr(err, "bad peer name 'pe.er4'"), "%s", err);
    cr_assert_eq(membership_parse("add abcdefghijklmnopqrstuvwxyz0123456", &ch, err, sizeof(err)),
                 MEMBERSHIP_USAGE);
}

Test(cli_membership, request_lines)
{
    struct membership_change ch;
    char line[256];
    cr_assert_eq(parse("add peer4", &ch), MEMBERSHIP_PARSED);
    int n = membership_request_encode(&ch, line, sizeof(line));
    cr_assert_str_eq(line, "{\"type\":\"membership\",\"action\":\"add\",\"peer\":\"peer4\"}\n");
    cr_assert_eq(n, (int)strlen(line));
    cr_assert_eq(parse("add peer4 --learner", &ch), MEMBERSHIP_PARSED);
    membership_request_encode(&ch, line, sizeof(line));
    cr_assert_str_eq(
        line, "{\"type\":\"membership\",\"action\":\"add\",\"peer\":\"peer4\",\"learner\":true}\n");
    cr_assert_eq(parse("promote peer4", &ch), MEMBERSHIP_PARSED);
    membership_request_encode(&ch, line, sizeof(line));
    cr_assert_str_eq(line, "{\"type\":\"membership\",\"action\":\"promote\",\"peer\":\"peer4\"}\n");
    cr_assert_eq(parse("remove peer2", &ch), MEMBERSHIP_PARSED);
    membership_request_encode(&ch, line, sizeof(line));
    cr_assert_str_eq(line, "{\"type\":\"membership\",\"action\":\"remove\",\"peer\":\"peer2\"}\n");
    cr_assert_eq(membership_request_encode(&ch, line, 20), -1);
}

Test(cli_membership, outcome_sentences)
{
    struct membership_change ch;
    char buf[512];
    cr_assert_eq(parse("add peer4", &ch), MEMBERSHIP_PARSED);
    cr_assert_str_eq(membership_outcome_words(&ch,
                                              "{\"type\":\"client_response\",\"ok\":true,"
                                              "\"index\":57,\"leader\":\"peer1\",\"voters\":["
                                              "\"peer1\",\"peer2\",\"peer3\",\"peer4\"],"
                                              "\"learners\":[]}",
                                              buf, sizeof(buf)),
                     "peer4 is a voter now (index 57); voters: peer1, peer2, peer3, peer4; "
                     "learners: none");
    cr_assert_eq(parse("add peer5 --learner", &ch), MEMBERSHIP_PARSED);
    cr_assert_str_eq(membership_outcome_words(&ch,
                                              "{\"ok\":true,\"index\":60,\"voters\":[\"peer1\"],"
                                              "\"learners\":[\"peer5\",\"pe\\u001ber6\"]}",
                                              buf, sizeof(buf)),
                     "peer5 is a learner now (index 60); voters: peer1; learners: peer5, pe?er6");
    /* The removed leader may answer with "leader":null; the lists may be missing. */
    cr_assert_eq(parse("remove peer1", &ch), MEMBERSHIP_PARSED);
    cr_assert_str_eq(
        membership_outcome_words(&ch, "{\"ok\":true,\"leader\":null}", buf, sizeof(buf)),
        "peer1 is no longer a member; voters: none; learners: none");
    cr_assert_str_eq(membership_outcome_words(&ch, "not json", buf, sizeof(buf)),
                     "peer1 is no longer a member; voters: unknown; learners: unknown");
}

static const char LEADER_STATUS[] =
    "{\"type\":\"status\",\"name\":\"peer1\",\"role\":\"leader\",\"term\":3,\"leader\":\"peer1\","
    "\"commit_index\":57,\"last_applied\":57,\"log_length\":58,\"first_index\":1,"
    "\"voters\":[\"peer1\",\"peer2\",\"peer3\"],\"learners\":[\"peer4\",\"peer5\"],"
    "\"config_pending\":true,\"followers\":["
    "{\"name\":\"peer2\",\"match_index\":58,\"next_index\":59,\"voter\":true},"
    "{\"name\":\"peer3\",\"match_index\":55,\"next_index\":56,\"voter\":true},"
    "{\"name\":\"peer4\",\"match_index\":12,\"next_index\":13,\"voter\":false,"
    "\"caught_up\":false},"
    "{\"name\":\"peer5\",\"match_index\":58,\"next_index\":59,\"voter\":false,"
    "\"caught_up\":true}]}";

static struct peer_status st;

static void parse_status(const char *line)
{
    char err[128];
    cr_assert_eq(status_parse(line, strlen(line), &st, err, sizeof(err)), 0, "%s", err);
}

Test(cli_membership, status_carries_the_configuration)
{
    parse_status(LEADER_STATUS);
    cr_assert_eq(st.n_voters, 3);
    cr_assert_str_eq(st.voters[2], "peer3");
    cr_assert_eq(st.n_learners, 2);
    cr_assert_str_eq(st.learners[0], "peer4");
    cr_assert_eq(st.config_pending, 1);
    const struct peer_follower *f = status_follower(&st, "peer4");
    cr_assert_not_null(f);
    cr_assert_eq(f->voter, 0);
    cr_assert_eq(f->caught_up, 0);
    cr_assert_eq(status_follower(&st, "peer5")->caught_up, 1);
    cr_assert_eq(status_follower(&st, "peer2")->voter, 1);
    cr_assert_eq(status_follower(&st, "peer2")->caught_up, -1);
    cr_assert_null(status_follower(&st, "peer9"));
}

Test(cli_membership, status_without_configuration_or_with_junk)
{
    parse_status("{\"role\":\"leader\",\"voters\":\"peer1\",\"learners\":[1,null,\"\",\"p\"],"
                 "\"config_pending\":1,\"followers\":[{\"name\":\"peer2\",\"voter\":\"yes\"}]}");
    cr_assert_eq(st.n_voters, 0);
    cr_assert_eq(st.n_learners, 1);
    cr_assert_str_eq(st.learners[0], "p");
    cr_assert_eq(st.config_pending, -1);
    cr_assert_eq(st.followers[0].voter, -1);
}

static char *print_members(void)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    members_print(out, &st);
    fclose(out);
    return text;
}

Test(cli_membership, members_table)
{
    parse_status(LEADER_STATUS);
    char *text = print_members();
    cr_assert_str_eq(text, "3 voters, 2 learners, as leader peer1 sees them (term 3, commit 57)\n"
                           "NAME   ROLE     MATCH  STATE\n"
                           "peer1  voter       58  leader\n"
                           "peer2  voter       58\n"
                           "peer3  voter       55\n"
                           "peer4  learner     12  catching up\n"
                           "peer5  learner     58  caught up\n"
                           "a configuration change is pending: not committed yet\n");
    free(text);
}

Test(cli_membership, members_of_a_leaving_leader_and_of_an_old_peer)
{
    parse_status("{\"name\":\"peer1\",\"role\":\"leader\",\"term\":4,\"commit_index\":9,"
                 "\"log_length\":10,\"voters\":[\"peer2\",\"peer3\"],\"learners\":[],"
                 "\"config_pending\":false,\"followers\":[{\"name\":\"peer2\","
                 "\"match_index\":10,\"voter\":true}]}");
    char *text = print_members();
    cr_assert_str_eq(text, "2 voters, 0 learners, as leader peer1 sees them (term 4, commit 9)\n"
                           "NAME   ROLE     MATCH  STATE\n"
                           "peer2  voter       10\n"
                           "peer3  voter        -  (no replication state at the leader)\n"
                           "peer1 is leaving: it steps down once its removal is committed\n");
    free(text);
    parse_status("{\"name\":\"peer1\",\"role\":\"leader\",\"term\":2}");
    text = print_members();
    cr_assert(strstr(text, "does not report its configuration"), "%s", text);
    free(text);
}

Test(cli_membership, bad_membership_reads_as_a_sentence)
{
    char buf[256];
    struct cli_failure f = {.error = "bad_membership", .message = "peer4 is already a voter"};
    cr_assert_str_eq(cli_failure_words(&f, buf, sizeof(buf)),
                     "membership change refused: peer4 is already a voter; nothing changed");
}

Test(cli_membership, table_notes_learners_in_the_replication_line)
{
    parse_status(LEADER_STATUS);
    struct cluster_peer peer = {.name = "peer1", .host = "127.0.0.1", .port = 6001};
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    status_table_print(out, &peer, &st, 1);
    fclose(out);
    cr_assert(strstr(text, "peer4 match 12 next 13 (learner, catching up), peer5 match 58 next 59 "
                           "(learner, caught up)"),
              "%s", text);
    free(text);
}
