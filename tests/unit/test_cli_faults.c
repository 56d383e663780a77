/* Unit tests for user_cli/fault_commands.c: which lines are fault commands, the control
 * line each one becomes, and what is refused before anything is sent. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "user_cli/fault_commands.h"

/* Peers on ports nobody listens on: a command that reached the network comes back
 * CLI_UNREACHABLE, so CLI_FAILED proves it was refused locally. */
static struct cluster_peer dead[3] = {
    {"peer1", "127.0.0.1", 1}, {"peer2", "127.0.0.1", 2}, {"peer3", "127.0.0.1", 3}};

static struct cluster_client *client(void)
{
    char err[128];
    struct cluster_client *c = cluster_client_create(dead, 3, 200, err, sizeof(err));
    cr_assert_not_null(c, "%s", err);
    return c;
}

static void built(const char *text, const char *token, const char *expected)
{
    struct cluster_client *c = client();
    char line[FAULT_LINE_MAX], err[256] = "";
    cr_assert_eq(fault_command_build(c, text, token, line, sizeof(line), err, sizeof(err)), 0,
                 "'%s' refused: %s", text, err);
    cr_assert_str_eq(line, expected);
    cluster_client_destroy(c);
}

static void refused(const char *text, const char *why)
{
    struct cluster_client *c = client();
    char line[FAULT_LINE_MAX], err[256] = "";
    cr_assert_eq(fault_command_build(c, text, NULL, line, sizeof(line), err, sizeof(err)), -1,
                 "'%s' accepted: %s", text, line);
    cr_assert(strstr(err, why), "'%s': '%s' lacks '%s'", text, err, why);
    cluster_client_destroy(c);
}

Test(cli_faults, which_lines_are_fault_commands)
{
    cr_assert(fault_command_matches("partition peer1 peer2,peer3"));
    cr_assert(fault_command_matches("isolate peer1"));
    cr_assert(fault_command_matches("heal"));
    cr_assert(fault_command_matches("delay 200"));
    cr_assert(fault_command_matches("cut peer1 peer2"));
    cr_assert(fault_command_matches("pace 20"));
    cr_assert(!fault_command_matches("pace set 3"));
    cr_assert(fault_command_matches("isolate"), "a bare word gets its usage line");
    /* Variables named like the commands. */
    cr_assert(!fault_command_matches("delay get"));
    cr_assert(!fault_command_matches("heal set 5"));
    cr_assert(!fault_command_matches("partition add 1"));
    cr_assert(!fault_command_matches("x set 5"));
    cr_assert(!fault_command_matches("healing"));
}

Test(cli_faults, control_lines)
{
    built("partition peer1 peer2,peer3", NULL,
          "{\"type\":\"control\",\"action\":\"partition\",\"groups\":[[\"peer1\"],[\"peer2\","
          "\"peer3\"]]}\n");
    built("isolate peer2", "tok",
          "{\"type\":\"control\",\"action\":\"isolate\",\"target\":\"peer2\",\"token\":\"tok\"}\n");
    built("heal", "", "{\"type\":\"control\",\"action\":\"heal\"}\n");
    built("delay 250", NULL, "{\"type\":\"control\",\"action\":\"delay\",\"ms\":250}\n");
    built("pace 20", NULL,
          "{\"type\":\"control\",\"action\":\"pace\",\"factor\":20,\"fast_failover\":true}\n");
    built("pace 1 --no-fast-failover", "tok",
          "{\"type\":\"control\",\"action\":\"pace\",\"factor\":1,\"fast_failover\":false,"
          "\"token\":\"tok\"}\n");
    built("cut peer3  peer1", NULL,
          "{\"type\":\"control\",\"action\":\"cut\",\"from\":\"peer3\",\"to\":\"peer1\"}\n");
}

Test(cli_faults, bad_input_is_refused_locally)
{
    refused("partition", "usage: partition");
    refused("partition peer1 peer2 peer3 peer1", "1 to 3 groups");
    refused("partition peer1 peer2 peer3 a b c d e f g h i j k l m n o p q", "too many groups");
    refused("partition peer1,peer9", "unknown peer 'peer9': this cluster is peer1 to peer3");
    refused("partition peer1 peer1,peer2", "peer1 is in more than one group");
    refused("partition peer1,,peer2", "empty peer name");
    refused("partition peer1,", "empty peer name");
    refused("isolate", "usage: isolate");
    refused("isolate peer1 peer2", "usage: isolate");
    refused("isolate nobody", "unknown peer 'nobody'");
    refused("heal now", "usage: heal");
    refused("delay", "usage: delay");
    refused("delay -1", "usage: delay");
    refused("delay 10001", "usage: delay");
    refused("delay 5ms", "usage: delay");
    refused("delay 99999999999999999999", "usage: delay");
    refused("pace", "usage: pace");
    refused("pace 0", "usage: pace");
    refused("pace 51", "usage: pace");
    refused("pace 2x", "usage: pace");
    refused("pace 20 --fast", "usage: pace");
    refused("pace --no-fast-failover 20", "usage: pace");
    refused("cut peer1", "usage: cut");
    refused("cut peer2 peer2", "itself");
}

Test(cli_faults, run_reports_local_refusal_and_unreachable_peers)
{
    char *text = NULL;
    size_t size = 0;
    struct cli_session s = {.client = client()};
    s.out = open_memstream(&text, &size);
    s.errout = s.out;
    cr_assert_eq(cli_execute(&s, "isolate peer7"), CLI_FAILED);
    cr_assert_eq(cli_execute(&s, "heal"), CLI_UNREACHABLE);
    fflush(s.out);
    cr_assert(strstr(text, "error: unknown peer 'peer7'"), "%s", text);
    cr_assert(strstr(text, "peer1: not reached"), "%s", text);
    cr_assert(strstr(text, "error: no peer answered"), "%s", text);
    fclose(s.out);
    cluster_client_destroy(s.client);
    free(text);
}
