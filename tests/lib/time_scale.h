/* time_scale.h: RAFT_TEST_TIMEOUT_SCALE, how many times longer than usual a slow run of
 * the tests (make valgrind) lets things take. Header-only, so unit tests that do not
 * link the test library can scale their time bounds too. */
#ifndef TESTS_LIB_TIME_SCALE_H
#define TESTS_LIB_TIME_SCALE_H

#include <errno.h>
#include <stdlib.h>

/* The scale, an integer 1..100; 1 when unset or not such a number. */
static inline int test_time_scale(void)
{
    const char *s = getenv("RAFT_TEST_TIMEOUT_SCALE");
    if (!s || !*s)
        return 1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < 1 || v > 100)
        return 1;
    return (int)v;
}

#endif
