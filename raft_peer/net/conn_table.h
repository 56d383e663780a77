/* conn_table.h: the transport of accepted connections. It accepts, reads and frames
 * newline-delimited lines, queues and writes answers, bounds every connection (line
 * length, line time, output, their number) and hands each whole line to the handler it
 * was given; what a line means is the handler's business (raft_peer/dispatch.c). */
#ifndef RAFT_PEER_CONN_TABLE_H
#define RAFT_PEER_CONN_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buffer.h"
#include "raft_peer/core/raft.h"

struct event_loop;
struct event_log;
struct conn_table;

/* Bounds that keep a slow or hostile party from growing our memory. */
#define CONN_OUT_MAX   (64u << 20) /* bytes queued to one connection before we hang up */
#define PEER_MAX_CONNS 1024        /* accepted connections at once; past it the idlest goes */
/* A line must arrive whole within this long of its first byte (a client's lines are at
 * most CLIENT_LINE_MAX; a peer's up to RPC_LINE_MAX, so it gets longer): a connection
 * holding half a line is closed, so a hostile client cannot keep slots by writing slowly. */
#define CONN_CLIENT_LINE_MS 5000
#define CONN_PEER_LINE_MS   60000

/* An accepted connection: a client, a peer sending us RPCs, or the game. Closing one
 * only marks it (closed) and unhooks its fd; the memory is freed by conn_table_reap()
 * before the loop sleeps, when no handler can still hold it (as redis's
 * CLIENT_CLOSE_ASAP). So a handler may keep using c after any send: it tests
 * c->closed, never re-looks it up. */
struct conn {
    int fd;
    uint64_t id; /* unique for the process lifetime: pending requests name it */
    bool loopback;
    bool closing; /* close once out is flushed */
    bool closed;  /* fd closed; freed at the next conn_table_reap() */
    /* The peer that said hello on it, set by the handler: its lines may be up to
     * RPC_LINE_MAX long and take CONN_PEER_LINE_MS, and its newest connection is never
     * evicted. 0 for anyone else. */
    raft_id peer;
    uint64_t last_line_ms;     /* accept, then each whole line: the idlest is evicted first */
    uint64_t partial_since_ms; /* first byte of the unfinished line in `in`; 0 when none */
    char addr[96];
    struct buffer in;
    struct buffer out;
    struct conn_table *table;
    struct conn *next_closed;
};

/* What the transport calls; ctx is given back to both. */
struct conn_handlers {
    /* A whole line of c, without its newline. The handler may send on c, mark it
     * closing (closed once the answer is out) or close it. */
    void (*line)(void *ctx, struct conn *c, const char *line, size_t len);
    /* c sent more than its line limit without a newline: the last word before the
     * transport closes it (whether or not the answer gets out). */
    void (*line_too_long)(void *ctx, struct conn *c);
    void *ctx;
};

/* An empty table on el; log takes its one line per interval about evictions and line
 * timeouts. NULL when out of memory. */
struct conn_table *conn_table_new(struct event_loop *el, struct event_log *log,
                                  const struct conn_handlers *handlers);
/* Listens on host:port and starts the once-a-second sweep. 0, or -1 with err. */
int conn_table_listen(struct conn_table *t, const char *host, int port, char *err, size_t errlen);
/* Queues and writes; -1 when c is closed (now or before). c stays readable either way
 * until the next conn_table_reap(). */
int conn_write(struct conn *c, const char *data, size_t len);
/* Unhooks c and closes its fd at once (so the fd can be reused); frees it later. */
void conn_close(struct conn *c);
/* The open connection on fd, if it is still the one with this id. */
struct conn *conn_table_lookup(struct conn_table *t, int fd, uint64_t id);
/* Frees the connections closed since the last call. Only where no handler runs. */
void conn_table_reap(struct conn_table *t);
/* Closes every connection and the listening socket, frees t (NULL is fine). */
void conn_table_free(struct conn_table *t);
/* PEER_MAX_CONNS clients plus the process's own files and peer links need more
 * descriptors than the common soft limit of 1024: raises it as far as the hard limit
 * allows. Short of it, accept evicts idle clients when it runs out of descriptors. */
void conn_table_raise_fd_limit(void);

#endif
