/* fd_flush.c: see fd_flush.h. */
#include <errno.h>
#include <unistd.h>

#include "raft_peer/net/fd_flush.h"

int fd_flush(struct event_loop *el, int fd, struct buffer *out, el_file_proc *proc, void *data,
             int *last_byte)
{
    while (buffer_len(out) > 0) {
        ssize_t n = write(fd, buffer_peek(out), buffer_len(out));
        if (n > 0) {
            if (last_byte)
                *last_byte = (unsigned char)buffer_peek(out)[n - 1];
            buffer_consume(out, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            el_add_file(el, fd, EL_WRITABLE, proc, data);
            return 1;
        }
        if (n == 0)
            errno = 0;
        return -1;
    }
    if (el_file_mask(el, fd) & EL_WRITABLE)
        el_del_file(el, fd, EL_WRITABLE);
    return 0;
}
