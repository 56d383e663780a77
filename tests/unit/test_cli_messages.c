/* Unit tests for user_cli/messages.c: every error code reads as a sentence. */
#include <criterion/criterion.h>
#include <string.h>

#include "user_cli/messages.h"

static const char *words(const char *code, const char *message, const char *command,
                         bool has_result, int64_t result)
{
    static char buf[512];
    struct cli_failure f = {.error = code,
                            .message = message,
                            .command = command,
                            .has_result = has_result,
                            .result = result};
    return cli_failure_words(&f, buf, sizeof(buf));
}

Test(cli_messages, cas_failed_quotes_variable_current_and_expected)
{
    cr_assert_str_eq(words("cas_failed", "", "x cas 5 9", true, 7), "cas failed: x is 7, not 5");
}

Test(cli_messages, cas_failed_with_extra_blanks_in_command)
{
    cr_assert_str_eq(words("cas_failed", NULL, "  cnt \t cas  -3 4", true, 0),
                     "cas failed: cnt is 0, not -3");
}

Test(cli_messages, cas_failed_without_result_or_command)
{
    cr_assert_str_eq(words("cas_failed", NULL, "x cas 5 9", false, 0), "cas failed: x is not 5");
    cr_assert_str_eq(words("cas_failed", NULL, NULL, true, 12),
                     "cas failed: the current value is 12");
    cr_assert_str_eq(words("cas_failed", NULL, "", false, 0),
                     "cas failed: the variable did not hold the expected value");
}

Test(cli_messages, overflow_and_division)
{
    cr_assert_str_eq(words("overflow", "whatever", "x mul 2", false, 0),
                     "overflow: the result would not fit a signed 64-bit integer; nothing changed");
    cr_assert_str_eq(words("div_by_zero", "", "x div 0", false, 0),
                     "division by zero; nothing changed");
}

Test(cli_messages, codes_with_server_message)
{
    cr_assert_str_eq(words("bad_command", "expected a number", "x add", false, 0),
                     "bad command: expected a number");
    cr_assert_str_eq(words("bad_request", "line too long", "", false, 0),
                     "the cluster refused the request as malformed: line too long");
    cr_assert_str_eq(words("forbidden", "", "", false, 0), "forbidden");
    cr_assert(strstr(words("unavailable", "lost quorum", "", false, 0), "lost quorum") != NULL);
}

Test(cli_messages, unknown_code_is_shown_not_hidden)
{
    cr_assert_str_eq(words("frobnicated", "the thing broke", "", false, 0),
                     "the thing broke (frobnicated)");
    cr_assert_str_eq(words("frobnicated", NULL, NULL, false, 0),
                     "the cluster answered with error 'frobnicated'");
    cr_assert_str_eq(words(NULL, NULL, NULL, false, 0),
                     "the cluster answered with error 'unknown'");
}

Test(cli_messages, truncates_to_buffer)
{
    char small[8];
    struct cli_failure f = {.error = "div_by_zero"};
    cli_failure_words(&f, small, sizeof(small));
    cr_assert_str_eq(small, "divisio");
}

Test(cli_messages, session_expired_says_the_outcome_is_unknown)
{
    const char *w = words("session_expired", "the session of cli-1 is gone", "x add 5", false, 0);
    cr_assert(strstr(w, "outcome unknown") == w, "%s", w);
    cr_assert_neq(strstr(w, "'x add 5'"), NULL, "%s", w);
    cr_assert_neq(strstr(w, "not run again"), NULL, "%s", w);
    cr_assert_neq(strstr(words("session_expired", NULL, NULL, false, 0), "the command"), NULL);
}
