/* line_conn.h: one TCP connection carrying newline-delimited JSON, read with a
 * bounded buffer and every wait limited by a timeout. */
#ifndef USER_CLI_LINE_CONN_H
#define USER_CLI_LINE_CONN_H

#include <stddef.h>

/* A reply longer than this is refused: a peer that sends more is broken or hostile. */
#define LINE_CONN_MAX (64 * 1024)

enum line_conn_status {
    LINE_CONN_OK = 0,
    LINE_CONN_ERROR = -1,   /* connect/send/recv failed, or the line was too long */
    LINE_CONN_TIMEOUT = -2, /* the timeout passed first */
    LINE_CONN_CLOSED = -3,  /* the peer closed the connection */
};

struct line_conn {
    int fd;                      /* -1 when not connected */
    size_t len;                  /* bytes held in buf */
    size_t consumed;             /* bytes of buf handed out by the last read_line */
    char buf[LINE_CONN_MAX + 1]; /* +1: room to NUL-terminate a full line */
};

void line_conn_init(struct line_conn *c);
/* Connects to host:port within timeout_ms. Closes any previous connection. */
int line_conn_open(struct line_conn *c, const char *host, int port, int timeout_ms, char *err,
                   size_t errlen);
/* Takes ownership of an already connected fd (tests use a socketpair). */
void line_conn_adopt(struct line_conn *c, int fd);
int line_conn_is_open(const struct line_conn *c);
/* Sends all of data within timeout_ms. On failure the connection is closed. */
int line_conn_send(struct line_conn *c, const char *data, size_t len, int timeout_ms, char *err,
                   size_t errlen);
/* Waits up to timeout_ms for one whole line. On LINE_CONN_OK *line points to it,
 * NUL-terminated, without the newline, valid until the next call on c. On any
 * failure except LINE_CONN_TIMEOUT the connection is closed; after a timeout the
 * caller decides (a late reply would answer the old request, so the client closes). */
int line_conn_read_line(struct line_conn *c, const char **line, size_t *linelen, int timeout_ms,
                        char *err, size_t errlen);
void line_conn_close(struct line_conn *c);

/* Milliseconds on the monotonic clock, for deadlines. */
long long line_conn_now_ms(void);

#endif
