/* messages.c: error code -> words. The table is the one place that knows what
 * each code of the client protocol means to a person. */
#include "user_cli/messages.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Copies the idx-th whitespace-separated word of text into out (truncated to
 * outlen). Returns false when there is no such word. */
static bool nth_word(const char *text, int idx, char *out, size_t outlen)
{
    const char *p = text;
    for (int i = 0;; i++) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0')
            return false;
        const char *start = p;
        while (*p != '\0' && *p != ' ' && *p != '\t')
            p++;
        if (i == idx) {
            size_t n = (size_t)(p - start);
            if (n >= outlen)
                n = outlen - 1;
            memcpy(out, start, n);
            out[n] = '\0';
            return true;
        }
    }
}

static const char *nonempty(const char *s)
{
    return (s != NULL && s[0] != '\0') ? s : NULL;
}

/* "cas failed: x is 7, not 5", with whatever parts are known. */
static void cas_words(const struct cli_failure *f, char *buf, size_t buflen)
{
    char name[72] = "";
    char expected[32] = "";
    const char *cmd = nonempty(f->command);
    char op[8] = "";
    bool have = cmd != NULL && nth_word(cmd, 1, op, sizeof(op)) && strcmp(op, "cas") == 0 &&
                nth_word(cmd, 0, name, sizeof(name)) &&
                nth_word(cmd, 2, expected, sizeof(expected));
    if (have && f->has_result)
        snprintf(buf, buflen, "cas failed: %s is %" PRId64 ", not %s", name, f->result, expected);
    else if (have)
        snprintf(buf, buflen, "cas failed: %s is not %s", name, expected);
    else if (f->has_result)
        snprintf(buf, buflen, "cas failed: the current value is %" PRId64, f->result);
    else
        snprintf(buf, buflen, "cas failed: the variable did not hold the expected value");
}

/* The one answer that leaves the outcome open: say so, and what to do about it. */
static void expired_words(const struct cli_failure *f, char *buf, size_t buflen)
{
    const char *cmd = nonempty(f->command);
    snprintf(buf, buflen,
             "outcome unknown: the cluster no longer remembers this client's session, so it "
             "cannot tell whether %s%s%s already ran; it was not run again. Check the value "
             "before repeating it; a new session starts with the next command",
             cmd ? "'" : "", cmd ? cmd : "the command", cmd ? "'" : "");
}

const char *cli_failure_words(const struct cli_failure *f, char *buf, size_t buflen)
{
    if (buf == NULL || buflen == 0)
        return buf;
    const char *code = nonempty(f->error) ? f->error : "unknown";
    const char *msg = nonempty(f->message);

    if (strcmp(code, "cas_failed") == 0)
        cas_words(f, buf, buflen);
    else if (strcmp(code, "overflow") == 0)
        snprintf(buf, buflen,
                 "overflow: the result would not fit a signed 64-bit integer; nothing changed");
    else if (strcmp(code, "div_by_zero") == 0)
        snprintf(buf, buflen, "division by zero; nothing changed");
    else if (strcmp(code, "bad_command") == 0)
        snprintf(buf, buflen, "bad command: %s", msg ? msg : "the cluster could not parse it");
    else if (strcmp(code, "bad_request") == 0)
        snprintf(buf, buflen, "the cluster refused the request as malformed%s%s", msg ? ": " : "",
                 msg ? msg : "");
    else if (strcmp(code, "not_leader") == 0)
        snprintf(buf, buflen, "no leader: %s", msg ? msg : "the peer does not know the leader");
    else if (strcmp(code, "unavailable") == 0)
        snprintf(buf, buflen,
                 "unavailable: the leader could not reach a majority before committing%s%s",
                 msg ? ": " : "", msg ? msg : "");
    else if (strcmp(code, "session_expired") == 0)
        expired_words(f, buf, buflen);
    else if (strcmp(code, "bad_membership") == 0)
        snprintf(buf, buflen, "membership change refused: %s; nothing changed",
                 msg ? msg : "the cluster gave no reason");
    else if (strcmp(code, "forbidden") == 0)
        snprintf(buf, buflen, "forbidden%s%s", msg ? ": " : "", msg ? msg : "");
    else if (msg)
        snprintf(buf, buflen, "%s (%s)", msg, code);
    else
        snprintf(buf, buflen, "the cluster answered with error '%s'", code);
    return buf;
}
