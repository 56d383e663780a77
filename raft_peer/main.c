/* main.c: `raft_peer NAME N [-v] [-c FILE] [--log-level LEVEL]`, or `raft_peer NAME --join
 * ...`: one Raft peer process. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "common/config.h"
#include "common/event_log.h"
#include "raft_peer/dispatch.h"
#include "raft_peer/net/event_loop.h"
#include "raft_peer/peer.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: raft_peer NAME N [-v] [-c FILE] [--log-level LEVEL]\n"
            "       raft_peer NAME --join [-v] [-c FILE] [--log-level LEVEL]\n"
            "       raft_peer NAME --force-config NAME,NAME... [-v] [-c FILE]\n"
            "  NAME               this peer: a peer section of the ini file\n"
            "  N                  cluster size on a fresh data directory: the first N\n"
            "                     peers of the file (a stored configuration wins)\n"
            "  --join             start with no configuration, never campaign, and wait\n"
            "                     to be added to a running cluster (user_cli add NAME)\n"
            "  --force-config LIST  UNSAFE way out of a lost quorum: make LIST (names,\n"
            "                     comma-separated, NAME among them) the voters at this\n"
            "                     peer's next start (docs/MEMBERSHIP.md says what it can lose)\n"
            "  -v, --visual       stream state to raft_game and accept its control messages\n"
            "  -c, --config FILE  configuration (default: raft_peer.ini)\n"
            "  --log-level LEVEL  debug, info, warn or error (default: the ini's, else info)\n"
            "  -h, --help         this help\n");
}

static bool parse_count(const char *s, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 1 || v > CONFIG_MAX_PEERS)
        return false;
    *out = (int)v;
    return true;
}

static void on_signal(struct event_loop *el, int fd, void *data, int mask)
{
    (void)el;
    (void)mask;
    struct signalfd_siginfo si;
    if (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        struct peer *p = data;
        event_log_write(p->log, EVENT_LOG_INFO, "received %s, shutting down cleanly",
                        strsignal((int)si.ssi_signo));
        peer_request_exit(p);
    }
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"visual", no_argument, NULL, 'v'},
        {"config", required_argument, NULL, 'c'},
        {"log-level", required_argument, NULL, 'L'},
        {"help", no_argument, NULL, 'h'},
        {"join", no_argument, NULL, 'J'},
        {"force-config", required_argument, NULL, 'F'},
        {NULL, 0, NULL, 0},
    };
    const char *config_path = "raft_peer.ini";
    const char *log_level = NULL;
    bool visual = false, join = false;
    const char *force = NULL;
    int opt;
    while ((opt = getopt_long(argc, argv, "vc:h", options, NULL)) != -1) {
        switch (opt) {
        case 'v':
            visual = true;
            break;
        case 'c':
            config_path = optarg;
            break;
        case 'L':
            log_level = optarg;
            break;
        case 'J':
            join = true;
            break;
        case 'F':
            force = optarg;
            join = true; /* no N: the forced voters are the configuration */
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    int n = 0; /* --join: no cluster size, the configuration comes from the leader */
    if (join ? argc - optind != 1 : argc - optind != 2 || !parse_count(argv[optind + 1], &n)) {
        usage(stderr);
        return 2;
    }
    const char *name = argv[optind];
    enum event_log_level lvl;
    if (log_level && event_log_parse_level(log_level, &lvl) != 0) {
        fprintf(stderr, "raft_peer: unknown log level '%s': expected debug, info, warn or error\n",
                log_level);
        return 2;
    }

    static struct config cfg;
    char err[1024];
    if (config_load(config_path, &cfg, err, sizeof(err)) != 0 ||
        (join ? config_check_peer(&cfg, name, err, sizeof(err))
              : config_check_cluster(&cfg, n, name, err, sizeof(err))) != 0) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    int self = config_find_peer(&cfg, name);

    signal(SIGPIPE, SIG_IGN);
    conn_table_raise_fd_limit();
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, NULL);

    static struct peer peer;
    if (force && peer_force_configuration(&peer, &cfg, self, force, err, sizeof(err)) != 0) {
        fprintf(stderr, "raft_peer %s: --force-config: %s\n", name, err);
        return 2;
    }
    /* Handed down as pointers: the lines reach dispatch.c without the transport, or
     * peer.c, calling it by name (tests/check_layers.sh). */
    static const struct conn_handlers lines = {dispatch_line, dispatch_line_too_long, NULL};
    if (peer_start(&peer, &cfg, n, self, visual, log_level, &lines, err, sizeof(err)) != 0) {
        fprintf(stderr, "raft_peer %s: %s\n", name, err);
        peer_free(&peer);
        return 1;
    }
    if (force)
        event_log_write(peer.log, EVENT_LOG_WARN,
                        "started with --force-config %s: UNSAFE, entries only the lost voters "
                        "held are gone (docs/MEMBERSHIP.md)",
                        force);
    int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sfd >= 0)
        el_add_file(peer.el, sfd, EL_READABLE, on_signal, &peer);
    int rc = peer_run(&peer);
    peer_free(&peer);
    if (sfd >= 0)
        close(sfd);
    return rc == 0 ? 0 : 1;
}
