/* test_net.c: socket helpers over 127.0.0.1 on ephemeral ports. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/net.h"

static char err[256];

/* A listening socket on a free loopback port. */
static int listen_any(int *port)
{
    int fd = tcp_listen(err, sizeof(err), "127.0.0.1", 0, 16);
    cr_assert_geq(fd, 0, "tcp_listen: %s", err);
    *port = tcp_local_port(err, sizeof(err), fd);
    cr_assert_gt(*port, 0, "tcp_local_port: %s", err);
    return fd;
}

static void wait_for(int fd, short events)
{
    struct pollfd p = {.fd = fd, .events = events};
    /* Loopback is ready at once; the bound only catches a hang, on a loaded machine too. */
    cr_assert_eq(poll(&p, 1, 10000), 1, "fd %d never became ready", fd);
}

/* A port with nobody listening, kept that way: bound but not listening, and without
 * SO_REUSEADDR, so no other process (a parallel test) can start listening there until
 * *holder is closed. A port merely closed again could be handed out to someone else. */
static int dead_port(int *holder)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *holder = fd;
    return ntohs(a.sin_port);
}

Test(net, listen_is_nonblocking_and_accept_says_eagain)
{
    int port;
    int lfd = listen_any(&port);
    cr_assert(fcntl(lfd, F_GETFL) & O_NONBLOCK);
    cr_assert(fcntl(lfd, F_GETFD) & FD_CLOEXEC);
    errno = 0;
    cr_assert_eq(tcp_accept(err, sizeof(err), lfd, NULL, 0, NULL), -1);
    cr_assert(errno == EAGAIN || errno == EWOULDBLOCK, "errno %d", errno);
    close(lfd);
}

Test(net, blocking_connect_accept_and_exchange)
{
    int port;
    int lfd = listen_any(&port);
    int cfd = tcp_connect_timeout(err, sizeof(err), "127.0.0.1", port, 1000);
    cr_assert_geq(cfd, 0, "connect: %s", err);
    cr_assert_eq(fcntl(cfd, F_GETFL) & O_NONBLOCK, 0, "client fd should be blocking");
    cr_assert_eq(set_io_timeout(err, sizeof(err), cfd, 2000), 0, "%s", err);
    wait_for(lfd, POLLIN);
    char ip[64];
    int peer_port = 0;
    int sfd = tcp_accept(err, sizeof(err), lfd, ip, sizeof(ip), &peer_port);
    cr_assert_geq(sfd, 0, "accept: %s", err);
    cr_assert_str_eq(ip, "127.0.0.1");
    cr_assert_gt(peer_port, 0);
    cr_assert(fcntl(sfd, F_GETFL) & O_NONBLOCK, "accepted fd should be non-blocking");
    cr_assert_eq(set_nodelay(err, sizeof(err), sfd), 0, "%s", err);
    cr_assert_eq(peer_is_loopback(err, sizeof(err), sfd), 1);
    cr_assert_eq(peer_is_loopback(err, sizeof(err), cfd), 1);

    cr_assert_eq(write(cfd, "ping\n", 5), 5);
    wait_for(sfd, POLLIN);
    char buf[16] = {0};
    cr_assert_eq(read(sfd, buf, sizeof(buf)), 5);
    cr_assert_str_eq(buf, "ping\n");
    cr_assert_eq(write(sfd, "pong\n", 5), 5);
    memset(buf, 0, sizeof(buf));
    cr_assert_eq(read(cfd, buf, sizeof(buf)), 5); /* blocking read, bounded by the timeout */
    cr_assert_str_eq(buf, "pong\n");
    close(sfd);
    close(cfd);
    close(lfd);
}

Test(net, nonblocking_connect_then_finish)
{
    int port;
    int lfd = listen_any(&port);
    int cfd = tcp_connect_nonblock(err, sizeof(err), "localhost", port);
    if (cfd < 0) /* "localhost" may resolve to ::1 first with nobody there: try numeric */
        cfd = tcp_connect_nonblock(err, sizeof(err), "127.0.0.1", port);
    cr_assert_geq(cfd, 0, "%s", err);
    cr_assert(fcntl(cfd, F_GETFL) & O_NONBLOCK);
    wait_for(cfd, POLLOUT);
    int rc = tcp_connect_finish(err, sizeof(err), cfd);
    if (rc != 0) { /* localhost went to ::1 and was refused: the numeric one must work */
        close(cfd);
        cfd = tcp_connect_nonblock(err, sizeof(err), "127.0.0.1", port);
        cr_assert_geq(cfd, 0, "%s", err);
        wait_for(cfd, POLLOUT);
        rc = tcp_connect_finish(err, sizeof(err), cfd);
    }
    cr_assert_eq(rc, 0, "%s", err);
    close(cfd);
    close(lfd);
}

Test(net, refused_connects_report_errors)
{
    int holder;
    int port = dead_port(&holder);
    err[0] = '\0';
    cr_assert_eq(tcp_connect_timeout(err, sizeof(err), "127.0.0.1", port, 1000), -1);
    cr_assert_eq(errno, ECONNREFUSED, "errno %d (%s)", errno, err);
    cr_assert_neq(strstr(err, "refused"), NULL, "message: %s", err);

    int cfd = tcp_connect_nonblock(err, sizeof(err), "127.0.0.1", port);
    if (cfd >= 0) { /* usually in progress; the refusal shows at finish */
        wait_for(cfd, POLLOUT);
        cr_assert_eq(tcp_connect_finish(err, sizeof(err), cfd), -1);
        cr_assert_eq(errno, ECONNREFUSED);
        close(cfd);
    }
    close(holder);
}

Test(net, bad_arguments_are_refused_with_a_message)
{
    err[0] = '\0';
    cr_assert_eq(tcp_listen(err, sizeof(err), "127.0.0.1", 70000, 16), -1);
    cr_assert_neq(strstr(err, "port"), NULL, "%s", err);
    cr_assert_eq(tcp_connect_timeout(err, sizeof(err), "127.0.0.1", 0, 100), -1);
    cr_assert_eq(tcp_connect_nonblock(err, sizeof(err), "127.0.0.1", -1), -1);
    cr_assert_eq(udp_connect(err, sizeof(err), "127.0.0.1", 65536), -1);
    err[0] = '\0';
    cr_assert_eq(tcp_connect_timeout(err, sizeof(err), "no such host.invalid", 80, 100), -1);
    cr_assert_neq(err[0], '\0');
    err[0] = '\0';
    cr_assert_eq(tcp_listen(err, sizeof(err), "256.1.1.1", 0, 16), -1);
    cr_assert_neq(err[0], '\0');
    /* A NULL error buffer is allowed. */
    cr_assert_eq(tcp_listen(NULL, 0, "127.0.0.1", -5, 16), -1);
}

Test(net, listen_twice_on_one_port_fails)
{
    int port;
    int lfd = listen_any(&port);
    err[0] = '\0';
    cr_assert_eq(tcp_listen(err, sizeof(err), "127.0.0.1", port, 16), -1);
    cr_assert_neq(strstr(err, "bind"), NULL, "%s", err);
    close(lfd);
}

Test(net, udp_datagrams_arrive_and_sending_to_nobody_is_harmless)
{
    int rfd = socket(AF_INET, SOCK_DGRAM, 0);
    cr_assert_geq(rfd, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert_eq(bind(rfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    socklen_t sl = sizeof(sa);
    cr_assert_eq(getsockname(rfd, (struct sockaddr *)&sa, &sl), 0);
    int port = ntohs(sa.sin_port);

    int ufd = udp_connect(err, sizeof(err), "127.0.0.1", port);
    cr_assert_geq(ufd, 0, "%s", err);
    cr_assert(fcntl(ufd, F_GETFL) & O_NONBLOCK);
    cr_assert_eq(send(ufd, "{\"type\":\"state\"}", 16, 0), 16);
    wait_for(rfd, POLLIN);
    char buf[64] = {0};
    cr_assert_eq(recv(rfd, buf, sizeof(buf), 0), 16);
    cr_assert_str_eq(buf, "{\"type\":\"state\"}");
    close(ufd);
    close(rfd);

    /* Nobody listening: sends may fail (ECONNREFUSED from ICMP) but never block or crash. */
    ufd = udp_connect(err, sizeof(err), "127.0.0.1", port);
    cr_assert_geq(ufd, 0, "%s", err);
    for (int i = 0; i < 5; i++)
        (void)send(ufd, "x", 1, MSG_NOSIGNAL);
    close(ufd);
}

Test(net, set_nonblock_toggles)
{
    int port;
    int lfd = listen_any(&port);
    cr_assert_eq(set_nonblock(err, sizeof(err), lfd, false), 0);
    cr_assert_eq(fcntl(lfd, F_GETFL) & O_NONBLOCK, 0);
    cr_assert_eq(set_nonblock(err, sizeof(err), lfd, true), 0);
    cr_assert(fcntl(lfd, F_GETFL) & O_NONBLOCK);
    close(lfd);
    cr_assert_eq(set_nonblock(err, sizeof(err), lfd, true), -1); /* closed fd */
    cr_assert_eq(peer_is_loopback(err, sizeof(err), lfd), -1);
}
