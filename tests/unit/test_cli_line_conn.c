/* Unit tests for user_cli/line_conn.c over a socketpair: framing, bounds, timeouts. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "user_cli/line_conn.h"

static struct line_conn *conn;
static int other;

static void setup(void)
{
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    conn = malloc(sizeof(*conn));
    cr_assert_not_null(conn);
    line_conn_init(conn);
    line_conn_adopt(conn, sv[0]);
    other = sv[1];
}

static void teardown(void)
{
    line_conn_close(conn);
    free(conn);
    if (other >= 0)
        close(other);
}

static void put(const char *s)
{
    cr_assert_eq(write(other, s, strlen(s)), (ssize_t)strlen(s));
}

TestSuite(cli_line_conn, .init = setup, .fini = teardown);

Test(cli_line_conn, two_lines_in_one_write_and_crlf)
{
    const char *line;
    size_t len;
    char err[128];
    put("{\"a\":1}\r\n{\"b\":2}\n");
    cr_assert_eq(line_conn_read_line(conn, &line, &len, 500, err, sizeof(err)), LINE_CONN_OK);
    cr_assert_str_eq(line, "{\"a\":1}");
    cr_assert_eq(len, 7);
    cr_assert_eq(line_conn_read_line(conn, &line, &len, 500, err, sizeof(err)), LINE_CONN_OK);
    cr_assert_str_eq(line, "{\"b\":2}");
}

Test(cli_line_conn, line_split_across_writes)
{
    const char *line;
    size_t len;
    char err[128];
    put("hel");
    cr_assert_eq(line_conn_read_line(conn, &line, &len, 50, err, sizeof(err)), LINE_CONN_TIMEOUT);
    put("lo\nrest");
    cr_assert_eq(line_conn_read_line(conn, &line, &len, 500, err, sizeof(err)), LINE_CONN_OK);
    cr_assert_str_eq(line, "hello");
    put("\n");
    cr_assert_eq(line_conn_read_line(conn, &line, &len, 500, err, sizeof(err)), LINE_CONN_OK);
    cr_assert_str_eq(line, "rest");
}

Test(cli_line_conn, timeout_keeps_connection_open)
{
    const char *line;
    size_t len;
    char err[128];
    cr_assert_eq(line_conn_read_line(conn, &line, &len, 30, err, sizeof(err)), LINE_CONN_TIMEOUT);
    cr_assert(line_conn_is_open(conn));
    cr_assert(strstr(err, "30 ms") != NULL);
}

Test(cli_line_conn, peer_close_is_reported_and_closes)
{
    const char *line;
    size_t len;
    char err[128];
    put("partial");
    close(other);
    other = -1;
    cr_assert_eq(line_conn_read_line(conn, &line, &len, 500, err, sizeof(err)), LINE_CONN_CLOSED);
    cr_assert(!line_conn_is_open(conn));
}

Test(cli_line_conn, overlong_line_is_refused)
{
    const char *line;
    size_t len;
    char err[128];
    char *big = malloc(LINE_CONN_MAX + 10);
    cr_assert_not_null(big);
    memset(big, 'a', LINE_CONN_MAX + 10);
    /* Write from a child: the socket buffer may not hold it all at once. */
    pid_t pid = fork();
    if (pid == 0) {
        /* The writer frees its copy too: valgrind checks forked children for leaks. */
        ssize_t off = 0;
        while (off < LINE_CONN_MAX + 10) {
            ssize_t n = write(other, big + off, (size_t)(LINE_CONN_MAX + 10 - off));
            if (n <= 0)
                break;
            off += n;
        }
        free(big);
        _exit(0);
    }
    /* The child may be slow to run on a loaded machine: a generous bound. */
    cr_assert_eq(line_conn_read_line(conn, &line, &len, 10000, err, sizeof(err)), LINE_CONN_ERROR);
    cr_assert(strstr(err, "longer than") != NULL, "err: %s", err);
    cr_assert(!line_conn_is_open(conn));
    free(big);
}

Test(cli_line_conn, line_of_exactly_the_limit_is_accepted)
{
    const char *line;
    size_t len;
    char err[128];
    char *big = malloc(LINE_CONN_MAX);
    cr_assert_not_null(big);
    memset(big, 'b', LINE_CONN_MAX - 1);
    big[LINE_CONN_MAX - 1] = '\n';
    pid_t pid = fork();
    if (pid == 0) {
        /* The writer frees its copy too: valgrind checks forked children for leaks. */
        ssize_t off = 0;
        while (off < LINE_CONN_MAX) {
            ssize_t n = write(other, big + off, (size_t)(LINE_CONN_MAX - off));
            if (n <= 0)
                break;
            off += n;
        }
        free(big);
        _exit(0);
    }
    cr_assert_eq(line_conn_read_line(conn, &line, &len, 10000, err, sizeof(err)), LINE_CONN_OK,
                 "err: %s", err);
    cr_assert_eq(len, LINE_CONN_MAX - 1);
    free(big);
}

Test(cli_line_conn, send_reaches_the_other_side)
{
    char err[128];
    char buf[16] = "";
    cr_assert_eq(line_conn_send(conn, "ping\n", 5, 500, err, sizeof(err)), LINE_CONN_OK);
    cr_assert_eq(read(other, buf, sizeof(buf) - 1), 5);
    cr_assert_str_eq(buf, "ping\n");
}

Test(cli_line_conn, send_to_closed_peer_fails_without_sigpipe)
{
    char err[128];
    close(other);
    other = -1;
    cr_assert_eq(line_conn_send(conn, "ping\n", 5, 500, err, sizeof(err)), LINE_CONN_ERROR);
    cr_assert(!line_conn_is_open(conn));
}
