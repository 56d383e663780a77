/* line_conn.c: bounded, timed line I/O on a TCP socket. */
#include "user_cli/line_conn.h"

#include "common/net.h"
#include "common/error_message.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

long long line_conn_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void line_conn_init(struct line_conn *c)
{
    c->fd = -1;
    c->len = 0;
    c->consumed = 0;
}

void line_conn_close(struct line_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    line_conn_init(c);
}

void line_conn_adopt(struct line_conn *c, int fd)
{
    line_conn_close(c);
    c->fd = fd;
}

int line_conn_is_open(const struct line_conn *c)
{
    return c->fd >= 0;
}

int line_conn_open(struct line_conn *c, const char *host, int port, int timeout_ms, char *err,
                   size_t errlen)
{
    line_conn_close(c);
    int fd = tcp_connect_timeout(err, errlen, host, port, timeout_ms);
    if (fd < 0)
        return LINE_CONN_ERROR;
    c->fd = fd;
    return LINE_CONN_OK;
}

/* Waits for events on c->fd until deadline. Returns 1 ready, 0 timeout, -1 error. */
static int wait_fd(int fd, short events, long long deadline)
{
    for (;;) {
        long long left = deadline - line_conn_now_ms();
        if (left <= 0)
            return 0;
        struct pollfd p = {.fd = fd, .events = events};
        int r = poll(&p, 1, left > 60000 ? 60000 : (int)left);
        if (r > 0)
            return 1;
        if (r < 0 && errno != EINTR)
            return -1;
    }
}

int line_conn_send(struct line_conn *c, const char *data, size_t len, int timeout_ms, char *err,
                   size_t errlen)
{
    long long deadline = line_conn_now_ms() + timeout_ms;
    size_t off = 0;
    if (c->fd < 0) {
        set_err(err, errlen, "not connected");
        return LINE_CONN_ERROR;
    }
    while (off < len) {
        ssize_t n = send(c->fd, data + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int w = wait_fd(c->fd, POLLOUT, deadline);
            if (w > 0)
                continue;
            if (w == 0)
                set_err(err, errlen, "send timed out after %d ms", timeout_ms);
            else
                set_err(err, errlen, "poll: %s", strerror(errno));
            line_conn_close(c);
            return w == 0 ? LINE_CONN_TIMEOUT : LINE_CONN_ERROR;
        }
        set_err(err, errlen, "send: %s", n < 0 ? strerror(errno) : "nothing sent");
        line_conn_close(c);
        return LINE_CONN_ERROR;
    }
    return LINE_CONN_OK;
}

int line_conn_read_line(struct line_conn *c, const char **line, size_t *linelen, int timeout_ms,
                        char *err, size_t errlen)
{
    long long deadline = line_conn_now_ms() + timeout_ms;
    if (c->fd < 0) {
        set_err(err, errlen, "not connected");
        return LINE_CONN_ERROR;
    }
    /* Drop the line handed out last time before looking for the next one. */
    if (c->consumed > 0) {
        memmove(c->buf, c->buf + c->consumed, c->len - c->consumed);
        c->len -= c->consumed;
        c->consumed = 0;
    }
    size_t scanned = 0;
    for (;;) {
        char *nl = memchr(c->buf + scanned, '\n', c->len - scanned);
        if (nl != NULL) {
            size_t n = (size_t)(nl - c->buf);
            *nl = '\0';
            if (n > 0 && c->buf[n - 1] == '\r') {
                c->buf[n - 1] = '\0';
                n--;
            }
            c->consumed = (size_t)(nl - c->buf) + 1;
            *line = c->buf;
            *linelen = n;
            return LINE_CONN_OK;
        }
        scanned = c->len;
        if (c->len >= LINE_CONN_MAX) {
            set_err(err, errlen, "reply longer than %d bytes", LINE_CONN_MAX);
            line_conn_close(c);
            return LINE_CONN_ERROR;
        }
        int w = wait_fd(c->fd, POLLIN, deadline);
        if (w == 0) {
            set_err(err, errlen, "no reply within %d ms", timeout_ms);
            return LINE_CONN_TIMEOUT;
        }
        if (w < 0) {
            set_err(err, errlen, "poll: %s", strerror(errno));
            line_conn_close(c);
            return LINE_CONN_ERROR;
        }
        ssize_t n = recv(c->fd, c->buf + c->len, LINE_CONN_MAX - c->len, MSG_DONTWAIT);
        if (n > 0) {
            c->len += (size_t)n;
            continue;
        }
        if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
            continue;
        if (n == 0)
            set_err(err, errlen, "connection closed by the peer");
        else
            set_err(err, errlen, "recv: %s", strerror(errno));
        line_conn_close(c);
        return n == 0 ? LINE_CONN_CLOSED : LINE_CONN_ERROR;
    }
}
