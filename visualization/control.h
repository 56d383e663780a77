/* control.h: the game's hands on the real cluster: control messages to a peer (crash,
 * transfer leadership) and starting a peer's process again. */
#ifndef GAME_CONTROL_H
#define GAME_CONTROL_H

#include <stdbool.h>
#include <stddef.h>

/* How long one control exchange may take: the game's frame waits for it, and on
 * loopback a live peer answers in well under a millisecond. */
#define CONTROL_TIMEOUT_MS 300

/* Sends {"type":"control","action":"crash"} (with "token" when token is not empty: the
 * cluster token of [raft], which peers then require). The peer exits at once, so no
 * answer is awaited beyond a refusal already on its way. Returns 0, or -1 with err
 * (connection refused, or the peer's "forbidden" message). */
int control_crash(const char *host, int port, const char *token, char *err, size_t errlen);

/* Asks the leader at host:port to hand leadership to target. 0 when it agreed. */
int control_transfer(const char *host, int port, const char *target, const char *token, char *err,
                     size_t errlen);

/* A network fault (docs/CONTRACT.md, "Network faults") for the peer at host:port:
 * action "cut" drops messages from `from` to `to` (one way, added to the cuts in force),
 * "heal" removes every cut (from and to are then NULL). Each peer enforces its own side,
 * so the game sends the same request to every peer. 0 when the peer agreed, else -1
 * with err (unreachable, or the peer's refusal). */
int control_fault(const char *host, int port, const char *action, const char *from, const char *to,
                  const char *token, char *err, size_t errlen);

/* The delay every peer message waits at the peer at host:port (the `delay` network
 * fault, 0 to 10000 ms; 0 ends it), and the lesson pace (docs/CONTRACT.md, "Lesson
 * pace": factor 1 to 50, fast failover on or off). Sent to every peer like the faults.
 * 0 when the peer agreed, else -1 with err. */
int control_delay(const char *host, int port, unsigned ms, const char *token, char *err,
                  size_t errlen);
int control_pace(const char *host, int port, unsigned factor, bool fast_failover, const char *token,
                 char *err, size_t errlen);

/* The directory holding the game's own executable (via /proc/self/exe), where
 * raft_peer lives too. 0, or -1 with err. */
int control_bin_dir(char *out, size_t outlen, char *err, size_t errlen);

/* Starts "BIN_DIR/raft_peer NAME N -v -c CONFIG" (with n 0, "raft_peer NAME --join -v -c
 * CONFIG": a peer that waits to be added, docs/MEMBERSHIP.md) in its own session, with stdin,
 * stdout and stderr on /dev/null, in the current directory, and does not wait for it: the
 * grandchild is handed to init, so no zombie is left behind. 0 once the process
 * exists, or -1 with err. */
int control_spawn_peer(const char *bin_dir, const char *name, int n, const char *config_path,
                       char *err, size_t errlen);

#endif /* GAME_CONTROL_H */
