/* netns.h: network namespaces for tests that give processes addresses of their own (the
 * chaos test's network faults, the classroom test): a new empty namespace, and the `ip`
 * command run inside one. Root (or a user namespace) is needed; callers skip without. */
#ifndef TESTS_LIB_NETNS_H
#define TESTS_LIB_NETNS_H

#include <stddef.h>
#include <sys/types.h>

/* Writes the path of the `ip` program into out: 0, or -1 when there is none. */
int netns_find_ip(char *out, size_t outlen);

/* A new network namespace: a child unshares one and waits; *nsfd is opened on it through
 * /proc. Until netns_reap(*holder), the child's pid also names the namespace to
 * `ip link ... netns PID`; the open *nsfd keeps it alive after. 0, or -1 with err. */
int netns_new(int *nsfd, pid_t *holder, char *err, size_t errlen);
/* Kills and reaps the holder child of netns_new (nothing for pid <= 0). */
void netns_reap(pid_t holder);

/* Runs `ip WORDS` (the formatted, space-separated words) in namespace nsfd (-1: the
 * caller's own). 0, or -1 with ip's complaint in err. Fork and exec only, so it is safe
 * in a process with threads. */
int netns_ip(const char *ip_prog, int nsfd, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#endif
