/* test_conn_table.c: the transport of accepted connections (raft_peer/net/conn_table.c)
 * and the one flush routine under it and the peer links (raft_peer/net/fd_flush.c):
 * lines framed across reads, a handler that closes its connection mid-read, a line past
 * its limit, closing once the answer is out. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/client_protocol.h"
#include "common/net.h"
#include "raft_peer/net/conn_table.h"
#include "raft_peer/net/event_loop.h"
#include "raft_peer/net/fd_flush.h"

static char err[160];

struct seen {
    char lines[8][64];
    int n;
    int too_long;
    bool close_on_line; /* the handler closes the connection it was handed */
};

static void on_line(void *ctx, struct conn *c, const char *line, size_t len)
{
    struct seen *s = ctx;
    if (s->n < 8)
        snprintf(s->lines[s->n], sizeof(s->lines[0]), "%.*s", (int)len, line);
    s->n++;
    if (s->close_on_line) {
        conn_close(c);
        cr_expect(c->closed); /* still readable: freed only by conn_table_reap */
        return;
    }
    if (len >= 4 && !memcmp(line, "echo", 4)) {
        conn_write(c, line, len);
        conn_write(c, "\n", 1);
    } else if (len == 3 && !memcmp(line, "bye", 3)) {
        c->closing = true;
        conn_write(c, "ok\n", 3);
    }
}

static void on_too_long(void *ctx, struct conn *c)
{
    struct seen *s = ctx;
    s->too_long++;
    conn_write(c, "too long\n", 9);
}

struct fixture {
    struct event_loop *el;
    struct conn_table *t;
    struct seen seen;
    int client;
};

static void setup(struct fixture *f)
{
    signal(SIGPIPE, SIG_IGN);
    memset(f, 0, sizeof(*f));
    f->el = el_create(64, err, sizeof(err));
    cr_assert_not_null(f->el, "%s", err);
    struct conn_handlers h = {on_line, on_too_long, &f->seen};
    f->t = conn_table_new(f->el, NULL, &h);
    cr_assert_not_null(f->t);
    /* A free port: bound once, released, then taken by the table (SO_REUSEADDR). */
    int probe = tcp_listen(err, sizeof(err), "127.0.0.1", 0, 1);
    cr_assert_geq(probe, 0, "%s", err);
    int port = tcp_local_port(err, sizeof(err), probe);
    close(probe);
    cr_assert_eq(conn_table_listen(f->t, "127.0.0.1", port, err, sizeof(err)), 0, "%s", err);
    f->client = tcp_connect_timeout(err, sizeof(err), "127.0.0.1", port, 2000);
    cr_assert_geq(f->client, 0, "%s", err);
}

static void teardown(struct fixture *f)
{
    close(f->client);
    conn_table_free(f->t);
    el_free(f->el);
}

/* Runs the loop without sleeping for about ms milliseconds. */
static void pump(struct fixture *f, int ms)
{
    for (int i = 0; i < ms; i++) {
        el_run_once(f->el, 1);
        conn_table_reap(f->t);
        usleep(1000);
    }
}

static void send_all(int fd, const char *s, size_t len)
{
    cr_assert_eq(write(fd, s, len), (ssize_t)len);
}

/* What the client has been sent so far; *eof when the peer closed. */
static size_t receive(struct fixture *f, char *out, size_t cap, bool *eof)
{
    size_t got = 0;
    *eof = false;
    while (got < cap - 1) {
        ssize_t n = recv(f->client, out + got, cap - 1 - got, MSG_DONTWAIT);
        if (n == 0)
            *eof = true;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    out[got] = '\0';
    return got;
}

Test(conn_table, frames_lines_across_reads_and_answers)
{
    struct fixture f;
    setup(&f);
    send_all(f.client, "a\nb", 3);
    pump(&f, 20);
    send_all(f.client, "c\necho hi\n", 10);
    pump(&f, 20);
    cr_assert_eq(f.seen.n, 3);
    cr_expect_str_eq(f.seen.lines[0], "a");
    cr_expect_str_eq(f.seen.lines[1], "bc");
    cr_expect_str_eq(f.seen.lines[2], "echo hi");
    char buf[64];
    bool eof;
    receive(&f, buf, sizeof(buf), &eof);
    cr_expect_str_eq(buf, "echo hi\n");
    cr_expect(!eof);
    teardown(&f);
}

Test(conn_table, a_handler_that_closes_its_connection_gets_no_more_lines)
{
    struct fixture f;
    setup(&f);
    f.seen.close_on_line = true;
    send_all(f.client, "x\ny\nz\n", 6);
    pump(&f, 20);
    cr_expect_eq(f.seen.n, 1);
    char buf[64];
    bool eof;
    receive(&f, buf, sizeof(buf), &eof);
    cr_expect(eof);
    teardown(&f);
}

Test(conn_table, a_line_past_its_limit_is_answered_then_closed)
{
    struct fixture f;
    setup(&f);
    static char big[CLIENT_LINE_MAX + 16];
    memset(big, 'x', sizeof(big));
    send_all(f.client, big, sizeof(big));
    pump(&f, 50);
    cr_expect_eq(f.seen.too_long, 1);
    cr_expect_eq(f.seen.n, 0);
    char buf[64];
    bool eof;
    receive(&f, buf, sizeof(buf), &eof);
    cr_expect_str_eq(buf, "too long\n");
    teardown(&f);
}

Test(conn_table, closing_closes_once_the_answer_is_out)
{
    struct fixture f;
    setup(&f);
    send_all(f.client, "bye\nnever\n", 10);
    pump(&f, 20);
    cr_expect_eq(f.seen.n, 1); /* nothing is read past the line that asked to close */
    char buf[64];
    bool eof;
    receive(&f, buf, sizeof(buf), &eof);
    cr_expect_str_eq(buf, "ok\n");
    cr_expect(eof);
    teardown(&f);
}

static void on_writable(struct event_loop *el, int fd, void *data, int mask)
{
    (void)el;
    (void)fd;
    (void)data;
    (void)mask;
}

Test(fd_flush, writes_waits_for_room_and_reports_failure)
{
    signal(SIGPIPE, SIG_IGN);
    struct event_loop *el = el_create(64, err, sizeof(err));
    cr_assert_not_null(el);
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    struct buffer out;
    buffer_init(&out);

    buffer_append(&out, "one\ntw", 6);
    int last = -1;
    cr_expect_eq(fd_flush(el, sv[0], &out, on_writable, NULL, &last), 0);
    cr_expect_eq(buffer_len(&out), 0);
    cr_expect_eq(last, 'w'); /* the wire stands inside a line */

    /* More than the socket takes: the rest waits, and the fd is watched for room. */
    static char chunk[1 << 20];
    memset(chunk, 'y', sizeof(chunk));
    for (int i = 0; i < 16; i++)
        buffer_append(&out, chunk, sizeof(chunk));
    cr_expect_eq(fd_flush(el, sv[0], &out, on_writable, NULL, NULL), 1);
    cr_expect_gt(buffer_len(&out), 0);
    cr_expect(el_file_mask(el, sv[0]) & EL_WRITABLE);

    /* The other end gone: a failure, for the caller to close. */
    close(sv[1]);
    errno = 0;
    cr_expect_eq(fd_flush(el, sv[0], &out, on_writable, NULL, NULL), -1);
    cr_expect_eq(errno, EPIPE);

    el_del_file(el, sv[0], EL_READABLE | EL_WRITABLE);
    close(sv[0]);
    buffer_free(&out);
    el_free(el);
}
