/* Unit tests for user_cli/commands.c and the completion of user_cli/repl.c:
 * what is decided locally, without a cluster. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "user_cli/commands.h"
#include "user_cli/repl.h"

/* Peers on ports nobody listens on: a command that reached the network would
 * come back CLI_UNREACHABLE, so CLI_FAILED proves it was refused locally. */
static struct cluster_peer dead[3] = {
    {"peer1", "127.0.0.1", 1}, {"peer2", "127.0.0.1", 2}, {"peer3", "127.0.0.1", 3}};

struct capture {
    struct cli_session s;
    char *text;
    size_t size;
};

static void open_session(struct capture *cap, int timeout_ms)
{
    char err[128];
    memset(cap, 0, sizeof(*cap));
    cap->s.client = cluster_client_create(dead, 3, timeout_ms, err, sizeof(err));
    cr_assert_not_null(cap->s.client);
    cap->s.out = open_memstream(&cap->text, &cap->size);
    cap->s.errout = cap->s.out;
}

static void close_session(struct capture *cap)
{
    fclose(cap->s.out);
    cluster_client_destroy(cap->s.client);
}

Test(cli_commands, bad_command_is_refused_locally)
{
    struct capture cap;
    open_session(&cap, 200);
    cr_assert_eq(cli_execute(&cap.s, "x mod 5"), CLI_FAILED);
    fflush(cap.s.out);
    cr_assert(strstr(cap.text, "error: unknown operation 'mod'"), "%s", cap.text);
    cr_assert_eq(cap.s.client->next_seq, 1, "a refused command must not use a seq");
    close_session(&cap);
    free(cap.text);
}

Test(cli_commands, builtins_and_blank_lines)
{
    struct capture cap;
    open_session(&cap, 200);
    cr_assert_eq(cli_execute(&cap.s, "   "), CLI_OK);
    cr_assert_eq(cli_execute(&cap.s, "# a comment"), CLI_OK);
    cr_assert_eq(cli_execute(&cap.s, " quit "), CLI_QUIT);
    cr_assert_eq(cli_execute(&cap.s, "exit"), CLI_QUIT);
    cr_assert_eq(cli_execute(&cap.s, "help"), CLI_OK);
    fflush(cap.s.out);
    /* help names every command with an example */
    const char *examples[] = {"x set 5", "x add 100",      "x sub 3", "x mul 2",
                              "x div 2", "x cas 5 7",      "x get",   "x del",
                              "status",  "transfer peer3", "leader",  "quit"};
    for (size_t i = 0; i < sizeof(examples) / sizeof(examples[0]); i++)
        cr_assert(strstr(cap.text, examples[i]), "help lacks %s", examples[i]);
    close_session(&cap);
    free(cap.text);
}

Test(cli_commands, transfer_usage_and_unknown_peer)
{
    struct capture cap;
    open_session(&cap, 200);
    cr_assert_eq(cli_execute(&cap.s, "transfer"), CLI_FAILED);
    cr_assert_eq(cli_execute(&cap.s, "transfer peer9"), CLI_FAILED);
    fflush(cap.s.out);
    cr_assert(strstr(cap.text, "usage: transfer PEER"), "%s", cap.text);
    cr_assert(strstr(cap.text, "unknown peer 'peer9'"), "%s", cap.text);
    close_session(&cap);
    free(cap.text);
}

Test(cli_commands, unreachable_cluster_gives_code_3)
{
    struct capture cap;
    open_session(&cap, 150);
    cr_assert_eq(cli_execute(&cap.s, "x add 1"), CLI_UNREACHABLE);
    cr_assert_eq(cli_execute(&cap.s, "status"), CLI_UNREACHABLE);
    fflush(cap.s.out);
    cr_assert(strstr(cap.text, "error: no leader reachable within 0.15 s"), "%s", cap.text);
    cr_assert(strstr(cap.text, "peer2  127.0.0.1:2"), "%s", cap.text);
    close_session(&cap);
    free(cap.text);
}

Test(cli_commands, stream_reports_first_failure_and_goes_on)
{
    struct capture cap;
    open_session(&cap, 150);
    char script[] = "help\nx mod 1\n\n# note\nx frob\nquit\nx add 1\n";
    FILE *in = fmemopen(script, strlen(script), "r");
    cr_assert_eq(cli_run_stream(&cap.s, in), CLI_FAILED);
    fclose(in);
    fflush(cap.s.out);
    /* both bad lines answered, the line after quit never run */
    cr_assert(strstr(cap.text, "'mod'") && strstr(cap.text, "'frob'"), "%s", cap.text);
    cr_assert_null(strstr(cap.text, "no leader reachable"), "%s", cap.text);
    close_session(&cap);
    free(cap.text);
}

Test(cli_commands, stream_stops_when_cluster_unreachable)
{
    struct capture cap;
    open_session(&cap, 100);
    char script[] = "x add 1\nx mod 2\n";
    FILE *in = fmemopen(script, strlen(script), "r");
    cr_assert_eq(cli_run_stream(&cap.s, in), CLI_UNREACHABLE);
    fclose(in);
    fflush(cap.s.out);
    cr_assert_null(strstr(cap.text, "'mod'"), "%s", cap.text);
    close_session(&cap);
    free(cap.text);
}

Test(cli_commands, overlong_stream_line_is_one_failure)
{
    struct capture cap;
    open_session(&cap, 100);
    size_t n = 10000;
    char *script = malloc(n + 16);
    memset(script, 'a', n);
    strcpy(script + n, "\nhelp\n");
    FILE *in = fmemopen(script, strlen(script), "r");
    cr_assert_eq(cli_run_stream(&cap.s, in), CLI_FAILED);
    fclose(in);
    fflush(cap.s.out);
    cr_assert(strstr(cap.text, "error: line too long"), "%s", cap.text);
    cr_assert(strstr(cap.text, "Commands on the replicated"), "help after it still ran");
    close_session(&cap);
    free(cap.text);
    free(script);
}

Test(cli_commands, membership_words_are_checked_locally)
{
    struct capture cap;
    open_session(&cap, 200);
    cr_assert_eq(cli_execute(&cap.s, "add"), CLI_FAILED);
    cr_assert_eq(cli_execute(&cap.s, "remove pe/er2"), CLI_FAILED);
    fflush(cap.s.out);
    cr_assert(strstr(cap.text, "error: usage: add PEER [--learner]"), "%s", cap.text);
    cr_assert(strstr(cap.text, "error: bad peer name 'pe/er2'"), "%s", cap.text);
    /* A change that reaches for the (dead) cluster is unreachable, and says the change may
     * still be under way; a variable named add is still a command. */
    cr_assert_eq(cli_execute(&cap.s, "add peer4"), CLI_UNREACHABLE);
    fflush(cap.s.out);
    cr_assert(strstr(cap.text, "the change may still be under way: see members"), "%s", cap.text);
    cr_assert_eq(cli_execute(&cap.s, "add get"), CLI_UNREACHABLE);
    cr_assert_eq(cli_execute(&cap.s, "add mod 3"), CLI_FAILED, "a bad command, checked locally");
    close_session(&cap);
    free(cap.text);
}

Test(cli_commands, help_names_the_membership_commands)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    cli_print_help(out);
    fclose(out);
    cr_assert(strstr(text, "  members "), "%s", text);
    cr_assert(strstr(text, "  add PEER --learner"), "%s", text);
    cr_assert(strstr(text, "  promote PEER "), "%s", text);
    cr_assert(strstr(text, "  remove PEER "), "%s", text);
    free(text);
}

/* --- completion --- */

static char got[512];

static void collect(const char *word, void *arg)
{
    (void)arg;
    strcat(got, word);
    strcat(got, " ");
}

static const char *complete(struct cluster_client *c, int idx, const char *first,
                            const char *prefix)
{
    got[0] = '\0';
    repl_complete_words(c, idx, first, prefix, collect, NULL);
    return got;
}

Test(cli_completion, words_by_position)
{
    char err[128];
    struct cluster_client *c = cluster_client_create(dead, 3, 100, err, sizeof(err));
    cr_assert_str_eq(complete(c, 0, "", "st"), "status ");
    cr_assert_str_eq(complete(c, 0, "", "e"), "exit ");
    cr_assert_str_eq(complete(c, 1, "x", "d"), "div del ");
    cr_assert_str_eq(complete(c, 1, "x", ""), "set add sub mul div cas get del ");
    cr_assert_str_eq(complete(c, 1, "transfer", "peer"), "peer1 peer2 peer3 ");
    cr_assert_str_eq(complete(c, 1, "remove", "p"), "peer1 peer2 peer3 ");
    cr_assert_str_eq(complete(c, 1, "add", "peer3"), "peer3 ");
    cr_assert_str_eq(complete(c, 1, "members", ""), "");
    cr_assert_str_eq(complete(c, 0, "", "mem"), "members ");
    cr_assert_str_eq(complete(c, 1, "get", ""), "");
    cr_assert_str_eq(complete(c, 2, "x", "s"), "");
    cluster_client_destroy(c);
}

Test(cli_completion, history_path_from_environment)
{
    char path[256];
    setenv("RAFT_CLI_HISTORY", "/tmp/h1", 1);
    cr_assert_eq(repl_history_path(path, sizeof(path)), 0);
    cr_assert_str_eq(path, "/tmp/h1");
    unsetenv("RAFT_CLI_HISTORY");
    setenv("HOME", "/home/someone", 1);
    cr_assert_eq(repl_history_path(path, sizeof(path)), 0);
    cr_assert_str_eq(path, "/home/someone/.raft_village_history");
    unsetenv("HOME");
    cr_assert_eq(repl_history_path(path, sizeof(path)), -1);
}
