/* net.c: socket helpers in the spirit of redis's anet: report, never log or exit. */
#include "common/error_message.h"
#include "common/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* Closes fd without letting close() clobber the errno the caller reports. */
static void close_keep_errno(int fd)
{
    int saved = errno;
    close(fd);
    errno = saved;
}

static int check_port(char *err, size_t errlen, int port, bool allow_zero)
{
    if (port < (allow_zero ? 0 : 1) || port > 65535) {
        set_err(err, errlen, "bad port %d", port);
        errno = EINVAL;
        return -1;
    }
    return 0;
}

static int resolve(char *err, size_t errlen, const char *host, int port, int socktype, bool passive,
                   struct addrinfo **res)
{
    char portstr[8];
    struct addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = socktype;
    if (passive)
        hints.ai_flags = AI_PASSIVE;
    snprintf(portstr, sizeof(portstr), "%d", port);
    int rc = getaddrinfo(host, portstr, &hints, res);
    if (rc != 0) {
        set_err(err, errlen, "cannot resolve %s: %s", host ? host : "*", gai_strerror(rc));
        errno = EINVAL;
        return -1;
    }
    return 0;
}

int set_nonblock(char *err, size_t errlen, int fd, bool nonblock)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags == -1) {
        set_err(err, errlen, "fcntl(F_GETFL): %s", strerror(errno));
        return -1;
    }
    flags = nonblock ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
    if (fcntl(fd, F_SETFL, flags) == -1) {
        set_err(err, errlen, "fcntl(F_SETFL): %s", strerror(errno));
        return -1;
    }
    return 0;
}

int set_nodelay(char *err, size_t errlen, int fd)
{
    int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == -1) {
        set_err(err, errlen, "setsockopt(TCP_NODELAY): %s", strerror(errno));
        return -1;
    }
    return 0;
}

int set_io_timeout(char *err, size_t errlen, int fd, int timeout_ms)
{
    if (timeout_ms < 0)
        timeout_ms = 0;
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1) {
        set_err(err, errlen, "setsockopt(SO_RCVTIMEO/SO_SNDTIMEO): %s", strerror(errno));
        return -1;
    }
    return 0;
}

int tcp_listen(char *err, size_t errlen, const char *host, int port, int backlog)
{
    struct addrinfo *res = NULL;
    int fd = -1;
    if (check_port(err, errlen, port, true) != 0)
        return -1;
    if (resolve(err, errlen, host, port, SOCK_STREAM, true, &res) != 0)
        return -1;
    set_err(err, errlen, "no usable address for %s", host ? host : "*");
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd == -1) {
            set_err(err, errlen, "socket: %s", strerror(errno));
            continue;
        }
        int one = 1;
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1) {
            set_err(err, errlen, "setsockopt(SO_REUSEADDR): %s", strerror(errno));
            goto next;
        }
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
            set_err(err, errlen, "bind %s:%d: %s", host ? host : "*", port, strerror(errno));
            goto next;
        }
        if (listen(fd, backlog) == -1) {
            set_err(err, errlen, "listen %s:%d: %s", host ? host : "*", port, strerror(errno));
            goto next;
        }
        freeaddrinfo(res);
        return fd;
    next:
        close_keep_errno(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return -1;
}

int tcp_local_port(char *err, size_t errlen, int fd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == -1) {
        set_err(err, errlen, "getsockname: %s", strerror(errno));
        return -1;
    }
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    set_err(err, errlen, "getsockname: not an IP socket");
    errno = EAFNOSUPPORT;
    return -1;
}

int tcp_accept(char *err, size_t errlen, int listen_fd, char *ip, size_t iplen, int *port)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    int fd;
    do {
        fd = accept4(listen_fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
    } while (fd == -1 && errno == EINTR);
    if (fd == -1) {
        set_err(err, errlen, "accept: %s", strerror(errno));
        return -1;
    }
    if (ip && iplen > 0)
        ip[0] = '\0';
    if (port)
        *port = 0;
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *s = (struct sockaddr_in *)&ss;
        if (ip && iplen > 0)
            inet_ntop(AF_INET, &s->sin_addr, ip, (socklen_t)iplen);
        if (port)
            *port = ntohs(s->sin_port);
    } else if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
        if (ip && iplen > 0)
            inet_ntop(AF_INET6, &s->sin6_addr, ip, (socklen_t)iplen);
        if (port)
            *port = ntohs(s->sin6_port);
    }
    return fd;
}

/* Starts a connect on the first address that takes it; in-progress counts as taken. */
static int connect_start(char *err, size_t errlen, const char *host, int port)
{
    struct addrinfo *res = NULL;
    int fd = -1;
    if (check_port(err, errlen, port, false) != 0)
        return -1;
    if (resolve(err, errlen, host, port, SOCK_STREAM, false, &res) != 0)
        return -1;
    set_err(err, errlen, "no usable address for %s", host);
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd == -1) {
            set_err(err, errlen, "socket: %s", strerror(errno));
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 || errno == EINPROGRESS) {
            freeaddrinfo(res);
            return fd;
        }
        set_err(err, errlen, "connect %s:%d: %s", host, port, strerror(errno));
        close_keep_errno(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return -1;
}

int tcp_connect_nonblock(char *err, size_t errlen, const char *host, int port)
{
    return connect_start(err, errlen, host, port);
}

int tcp_connect_finish(char *err, size_t errlen, int fd)
{
    int soerr = 0;
    socklen_t sl = sizeof(soerr);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == -1) {
        set_err(err, errlen, "getsockopt(SO_ERROR): %s", strerror(errno));
        return -1;
    }
    if (soerr != 0) {
        set_err(err, errlen, "connect: %s", strerror(soerr));
        errno = soerr;
        return -1;
    }
    return 0;
}

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int tcp_connect_timeout(char *err, size_t errlen, const char *host, int port, int timeout_ms)
{
    int fd = connect_start(err, errlen, host, port);
    if (fd == -1)
        return -1;
    long long deadline = mono_ms() + (timeout_ms < 0 ? 0 : timeout_ms);
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        long long left = deadline - mono_ms();
        if (left < 0)
            left = 0;
        int rc = poll(&pfd, 1, (int)left);
        if (rc == -1 && errno == EINTR)
            continue;
        if (rc == -1) {
            set_err(err, errlen, "poll: %s", strerror(errno));
            goto fail;
        }
        if (rc == 0) {
            set_err(err, errlen, "connect %s:%d: timed out after %d ms", host, port, timeout_ms);
            errno = ETIMEDOUT;
            goto fail;
        }
        break;
    }
    if (tcp_connect_finish(err, errlen, fd) != 0) {
        int e = errno;
        set_err(err, errlen, "connect %s:%d: %s", host, port, strerror(e));
        errno = e;
        goto fail;
    }
    if (set_nonblock(err, errlen, fd, false) != 0)
        goto fail;
    return fd;
fail:
    close_keep_errno(fd);
    return -1;
}

int udp_connect(char *err, size_t errlen, const char *host, int port)
{
    struct addrinfo *res = NULL;
    int fd = -1;
    if (check_port(err, errlen, port, false) != 0)
        return -1;
    if (resolve(err, errlen, host, port, SOCK_DGRAM, false, &res) != 0)
        return -1;
    set_err(err, errlen, "no usable address for %s", host);
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd == -1) {
            set_err(err, errlen, "socket: %s", strerror(errno));
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            freeaddrinfo(res);
            return fd;
        }
        set_err(err, errlen, "udp connect %s:%d: %s", host, port, strerror(errno));
        close_keep_errno(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return -1;
}

int peer_is_loopback(char *err, size_t errlen, int fd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) == -1) {
        set_err(err, errlen, "getpeername: %s", strerror(errno));
        return -1;
    }
    if (ss.ss_family == AF_INET) {
        uint32_t a = ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr);
        return (a >> 24) == 127;
    }
    if (ss.ss_family == AF_INET6) {
        const struct in6_addr *a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(a))
            return 1;
        if (IN6_IS_ADDR_V4MAPPED(a))
            return a->s6_addr[12] == 127;
        return 0;
    }
    /* Unix sockets and the like never reach a TCP port: not a loopback IP. */
    return 0;
}
