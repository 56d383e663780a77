/* stream_socket.h: the UDP socket the peers' game stream arrives on. */
#ifndef GAME_STREAM_SOCKET_H
#define GAME_STREAM_SOCKET_H

#include <stddef.h>
#include <stdint.h>

#include "visualization/village_model.h"

/* Binds a non-blocking, close-on-exec UDP socket to host:port. Returns the fd, or -1
 * with err. */
int stream_socket_open(const char *host, int port, char *err, size_t errlen);

/* Hands every datagram waiting on fd (at most max) to sink. Returns how many were read.
 * An oversized datagram is handed over with a length of VILLAGE_DATAGRAM_MAX + 1 (its
 * first bytes), so the model refuses it on its length alone. */
typedef void (*stream_sink)(void *ctx, const char *data, size_t len);
int stream_socket_drain(int fd, stream_sink sink, void *ctx, int max);

#endif /* GAME_STREAM_SOCKET_H */
