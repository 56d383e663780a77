/* messages.h: turns the cluster's error codes into sentences a person can act on. */
#ifndef USER_CLI_MESSAGES_H
#define USER_CLI_MESSAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What the words are built from: the fields of a failed client_response and the
 * command text that provoked it (the cas message quotes the variable and the
 * expected value from it). Any pointer may be NULL or empty. */
struct cli_failure {
    const char *error;   /* the response's error code, e.g. "cas_failed" */
    const char *message; /* the response's human message, may be empty */
    const char *command; /* the command as the user typed it */
    bool has_result;     /* cas_failed carries the current value here */
    int64_t result;
};

/* Writes one line (no newline) describing the failure into buf, always
 * NUL-terminated and truncated to buflen. Returns buf. */
const char *cli_failure_words(const struct cli_failure *f, char *buf, size_t buflen);

#endif
