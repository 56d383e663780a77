/* fd_flush.h: writing a socket's queue as far as the socket takes it. The one routine
 * behind both kinds of connection: accepted ones (conn_table.c) and our links to the
 * other peers (peer_links.c). */
#ifndef RAFT_PEER_FD_FLUSH_H
#define RAFT_PEER_FD_FLUSH_H

#include "common/buffer.h"
#include "raft_peer/net/event_loop.h"

/* Writes out to fd until out is empty or the socket takes no more (EINTR retried).
 *   0  out is empty; fd is no longer watched for EL_WRITABLE;
 *   1  the socket is full: fd is watched for EL_WRITABLE with proc and data (which call
 *      this again), what is left stays in out;
 *  -1  the connection failed (errno; 0 when write returned 0): the caller closes it.
 * *last_byte (when not NULL) receives the last byte written, if any was: a caller that
 * sends whole lines learns whether the wire now stands at a line's start. */
int fd_flush(struct event_loop *el, int fd, struct buffer *out, el_file_proc *proc, void *data,
             int *last_byte);

#endif
