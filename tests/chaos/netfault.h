/* netfault.h: real network faults between peers: each peer in its own network namespace,
 * all joined by a bridge in the chaos program's private namespace, and links cut with
 * blackhole routes. Needs root, or unprivileged user namespaces, and iproute2's `ip`;
 * without them it falls back to one loopback and no network faults. */
#ifndef TESTS_CHAOS_NETFAULT_H
#define TESTS_CHAOS_NETFAULT_H

#include <stdbool.h>
#include <stddef.h>

#define NETFAULT_MAX_PEERS 9

struct netfault {
    int n;                            /* peers 1..n */
    bool private_ns;                  /* we live in a network namespace of our own */
    bool user_ns;                     /* ...inside a user namespace of our own (we are not root) */
    bool isolated;                    /* each peer has a namespace: cuts are possible */
    int nsfd[NETFAULT_MAX_PEERS + 1]; /* peer i's namespace, held open (-1 = none) */
    bool cut[NETFAULT_MAX_PEERS + 1][NETFAULT_MAX_PEERS + 1]; /* cut[i][j]: i -> j dropped */
    char ip_prog[64];                                         /* path of iproute2's ip */
    char reason[256];                                         /* why isolated is false */
};

/* Sets the network up for n peers. Must run before any thread is started (unshare of
 * the network namespace is refused to multithreaded processes). Returns 0 also when it
 * had to fall back (isolated false, reason says why); -1 only when it left the process
 * in a state it cannot use (a private namespace whose loopback would not come up). */
int netfault_setup(struct netfault *nf, int n, char *err, size_t errlen);

/* The address peer i listens on: 10.99.0.i when isolated, else 127.0.0.1. */
void netfault_host(const struct netfault *nf, int i, char *out, size_t outlen);

/* In a forked child before exec: moves it into peer i's namespace. 0 or -1. Only
 * async-signal-safe calls. */
int netfault_enter(const struct netfault *nf, int i);

/* Drops (cut = true) or restores every packet peer `from` sends to peer `to`. A
 * blackhole route in from's namespace: packets vanish without an error, as when a cable
 * is pulled; TCP retransmits them once the route is gone. 0 or -1. */
int netfault_set_cut(struct netfault *nf, int from, int to, bool cut, char *err, size_t errlen);

/* Both directions. */
int netfault_set_cut2(struct netfault *nf, int a, int b, bool cut, char *err, size_t errlen);

/* Restores every link. 0 or -1 (with the first error; it still tries every link). */
int netfault_heal_all(struct netfault *nf, char *err, size_t errlen);

/* Number of directed links cut now. */
int netfault_cut_count(const struct netfault *nf);

/* Closes the namespaces (they vanish once their last process exits). */
void netfault_close(struct netfault *nf);

#endif
