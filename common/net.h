/* net.h: TCP/UDP socket helpers that report errors into a buffer and never log or exit. */
#ifndef COMMON_NET_H
#define COMMON_NET_H

#include <stdbool.h>
#include <stddef.h>

/* Every helper takes (char *err, size_t errlen) first, returns -1 on failure with a
 * one-line message in err (errno is kept from the failing call), and 0 or a file
 * descriptor on success. Hosts are numeric addresses or names (getaddrinfo); ports
 * are 1..65535 (0 only for tcp_listen: any free port). Every socket is close-on-exec. */

/* A non-blocking listening socket with SO_REUSEADDR. Returns the fd. */
int tcp_listen(char *err, size_t errlen, const char *host, int port, int backlog);
/* The port a socket is bound to (for tcp_listen with port 0). */
int tcp_local_port(char *err, size_t errlen, int fd);
/* Accepts one connection as a non-blocking fd. With nothing pending it returns -1 and
 * errno is EAGAIN or EWOULDBLOCK. ip (may be NULL) receives the peer's address. */
int tcp_accept(char *err, size_t errlen, int listen_fd, char *ip, size_t iplen, int *port);
/* Starts a non-blocking connect and returns the fd at once; wait for it to be writable,
 * then call tcp_connect_finish to learn whether it worked. */
int tcp_connect_nonblock(char *err, size_t errlen, const char *host, int port);
/* 0 when the connect started by tcp_connect_nonblock succeeded, else -1 (SO_ERROR). */
int tcp_connect_finish(char *err, size_t errlen, int fd);
/* A blocking connect that gives up after timeout_ms; the fd returned is blocking. */
int tcp_connect_timeout(char *err, size_t errlen, const char *host, int port, int timeout_ms);
/* SO_RCVTIMEO and SO_SNDTIMEO on a blocking fd (0 = wait forever). */
int set_io_timeout(char *err, size_t errlen, int fd, int timeout_ms);
int set_nonblock(char *err, size_t errlen, int fd, bool nonblock);
/* TCP_NODELAY: a Raft peer sends small messages that must not wait for Nagle. */
int set_nodelay(char *err, size_t errlen, int fd);
/* A non-blocking connected UDP socket: send() datagrams to host:port with it. Send
 * errors (nobody listening, full buffer) are the caller's to ignore. */
int udp_connect(char *err, size_t errlen, const char *host, int port);
/* 1 when the peer of a connected socket is a loopback address (127.0.0.0/8, ::1 or
 * ::ffff:127.x.y.z), 0 when not, -1 on error. */
int peer_is_loopback(char *err, size_t errlen, int fd);

#endif
