/* stream_socket.c: receives the game stream. */
#include "visualization/stream_socket.h"
#include "common/error_message.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Nine peers at full rate send a few hundred datagrams a second; a roomy buffer rides
 * out a frame that took long (a screenshot, a slow control exchange). */
#define RCVBUF_BYTES (1 << 20)

int stream_socket_open(const char *host, int port, char *err, size_t errlen)
{
    struct addrinfo hints = {0}, *res = NULL, *ai;
    char pbuf[16];
    int fd = -1, gai, one = 1, rcvbuf = RCVBUF_BYTES;

    if (port < 1 || port > 65535) {
        set_err(err, errlen, "bad game port %d", port);
        return -1;
    }
    snprintf(pbuf, sizeof pbuf, "%d", port);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_PASSIVE;
    gai = getaddrinfo(host, pbuf, &hints, &res);
    if (gai != 0) {
        set_err(err, errlen, "%s:%d: %s", host, port, gai_strerror(gai));
        return -1;
    }
    set_err(err, errlen, "%s:%d: no usable address", host, port);
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            continue;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        set_err(err, errlen, "cannot listen on udp %s:%d: %s", host, port, strerror(errno));
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

int stream_socket_drain(int fd, stream_sink sink, void *ctx, int max)
{
    char buf[VILLAGE_DATAGRAM_MAX + 1];
    int got = 0;

    while (got < max) {
        ssize_t n = recv(fd, buf, sizeof buf, MSG_TRUNC);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break; /* EAGAIN: drained; anything else: try again next frame */
        }
        got++;
        /* With MSG_TRUNC, n is the datagram's real size: an oversized one is refused by
         * the model on its length alone, never cut to a valid-looking prefix. */
        if ((size_t)n > sizeof buf)
            n = VILLAGE_DATAGRAM_MAX + 1;
        sink(ctx, buf, (size_t)n);
    }
    return got;
}
