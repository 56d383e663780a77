/* stream_socket.h: the UDP socket the peers' game stream arrives on. */
#ifndef GAME_STREAM_SOCKET_H
#define GAME_STREAM_SOCKET_H

#include <stddef.h>
#include <stdint.h>

#include "visualization/village_model.h"

/* Binds a non-blocking, close-on-exec UDP socket to host:port. Returns the fd, or -1
 * with err. */
int stream_socket_open(const char *host, int port, char *err, size_t errlen);

/* Feeds every datagram waiting on fd (at most max) into the model. Returns how many
 * were read. Bad datagrams are counted by the model and otherwise ignored. */
int stream_socket_drain(int fd, struct village_model *m, uint64_t now_ms, int max);

#endif /* GAME_STREAM_SOCKET_H */
