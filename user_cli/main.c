/* main.c: user_cli N [-c FILE] [--timeout SECONDS] [--json] [COMMAND...]
 * Parses the arguments, loads the cluster from the ini file and picks the mode:
 * one command, the interactive prompt, or a script on stdin. */
#include "common/config.h"
#include "user_cli/cluster_client.h"
#include "user_cli/commands.h"
#include "user_cli/repl.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_TIMEOUT_S 5.0
#define MAX_TIMEOUT_S     3600.0

struct options {
    int n;
    const char *config_path;
    double timeout_s;
    bool json;
    char command[4096]; /* the remaining arguments joined by spaces; "" if none */
};

static void usage(FILE *out)
{
    fprintf(out, "usage: user_cli N [-c FILE] [--timeout SECONDS] [--json] [COMMAND...]\n"
                 "  N                 the cluster started as the first N peers of the ini file;\n"
                 "                    they are asked first, the file's other peers after them\n"
                 "  -c, --config FILE the ini file (default: raft_peer.ini)\n"
                 "  -t, --timeout S   give up on a command after S seconds (default: 5)\n"
                 "  -j, --json        print the cluster's raw JSON replies\n"
                 "  -h, --help        this text\n"
                 "With COMMAND (e.g. 'x add 100'), runs it once and prints the result.\n"
                 "Without, an interactive prompt (type help), or one command per line from\n"
                 "stdin when it is not a terminal.\n"
                 "Exit codes: 0 ok, 1 a command failed, 2 usage or config error,\n"
                 "3 no leader reachable in time.\n");
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

static int parse_timeout(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || v <= 0 || v > MAX_TIMEOUT_S)
        return -1;
    *out = v;
    return 0;
}

static int append_word(struct options *o, const char *w)
{
    size_t used = strlen(o->command);
    int n = snprintf(o->command + used, sizeof(o->command) - used, "%s%s", used ? " " : "", w);
    return (n < 0 || (size_t)n >= sizeof(o->command) - used) ? -1 : 0;
}

/* Options may come before or after N, but not inside COMMAND, whose words may
 * well start with '-' (x add -5). "--" ends the options. Returns 0, 1 for
 * help, or -1 with a message printed. */
static int parse_args(int argc, char **argv, struct options *o)
{
    bool have_n = false;
    bool in_command = false;

    o->n = 0;
    o->config_path = "raft_peer.ini";
    o->timeout_s = DEFAULT_TIMEOUT_S;
    o->json = false;
    o->command[0] = '\0';
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!in_command && a[0] == '-' && a[1] != '\0') {
            const char *val = NULL;
            if (strcmp(a, "--") == 0) {
                in_command = have_n;
                if (!have_n && i + 1 < argc && parse_int(argv[++i], 1, 1000, &o->n) == 0) {
                    have_n = true;
                    in_command = true;
                } else if (!have_n) {
                    fprintf(stderr, "user_cli: expected N after --\n");
                    return -1;
                }
                continue;
            }
            if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
                return 1;
            if (strcmp(a, "-j") == 0 || strcmp(a, "--json") == 0) {
                o->json = true;
                continue;
            }
            if (strncmp(a, "--config=", 9) == 0 || strncmp(a, "--timeout=", 10) == 0) {
                val = strchr(a, '=') + 1;
            } else if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0 || strcmp(a, "-t") == 0 ||
                       strcmp(a, "--timeout") == 0) {
                if (i + 1 >= argc) {
                    fprintf(stderr, "user_cli: %s needs a value\n", a);
                    return -1;
                }
                val = argv[++i];
            } else {
                fprintf(stderr, "user_cli: unknown option '%s'\n", a);
                return -1;
            }
            bool is_config = a[1] == 'c' || strncmp(a, "--config", 8) == 0;
            if (is_config) {
                o->config_path = val;
            } else if (parse_timeout(val, &o->timeout_s) != 0) {
                fprintf(stderr, "user_cli: bad timeout '%s': expected seconds, e.g. 5 or 0.5\n",
                        val);
                return -1;
            }
            continue;
        }
        if (!have_n) {
            if (parse_int(a, 1, 1000, &o->n) != 0) {
                fprintf(stderr, "user_cli: bad cluster size '%s': expected a number of peers\n", a);
                return -1;
            }
            have_n = true;
            continue;
        }
        in_command = true;
        if (append_word(o, a) != 0) {
            fprintf(stderr, "user_cli: the command is too long\n");
            return -1;
        }
    }
    if (!have_n) {
        fprintf(stderr, "user_cli: missing N, the number of peers in the cluster\n");
        return -1;
    }
    return 0;
}

/* The ini's cluster token, for control messages (static: the session keeps it). */
static char cluster_token[CONFIG_TOKEN_MAX];

static struct cluster_client *client_from_config(const struct options *o)
{
    static struct config cfg; /* large; static keeps it off the stack */
    struct cluster_peer peers[CLUSTER_MAX_PEERS];
    char err[512];

    if (config_load(o->config_path, &cfg, err, sizeof(err)) != 0 ||
        config_check_cluster(&cfg, o->n, NULL, err, sizeof(err)) != 0) {
        fprintf(stderr, "user_cli: %s\n", err);
        return NULL;
    }
    if (o->n > CLUSTER_MAX_PEERS) {
        fprintf(stderr, "user_cli: a cluster of %d peers: at most %d are supported\n", o->n,
                CLUSTER_MAX_PEERS);
        return NULL;
    }
    snprintf(cluster_token, sizeof(cluster_token), "%s", cfg.token);
    memset(peers, 0, sizeof(peers));
    /* Every peer of the file, the first N asked first: peers added since the cluster
     * started are found through the others (cluster_client_set_first). */
    int n_file = cfg.n_peers < CLUSTER_MAX_PEERS ? cfg.n_peers : CLUSTER_MAX_PEERS;
    for (int i = 0; i < n_file; i++) {
        snprintf(peers[i].name, sizeof(peers[i].name), "%s", cfg.peers[i].name);
        snprintf(peers[i].host, sizeof(peers[i].host), "%s", cfg.peers[i].host);
        peers[i].port = cfg.peers[i].port;
    }
    struct cluster_client *c =
        cluster_client_create(peers, n_file, (int)lround(o->timeout_s * 1000), err, sizeof(err));
    if (c == NULL)
        fprintf(stderr, "user_cli: %s\n", err);
    else
        cluster_client_set_first(c, o->n);
    return c;
}

int main(int argc, char **argv)
{
    struct options o;
    int rc = parse_args(argc, argv, &o);
    if (rc == 1) {
        usage(stdout);
        return 0;
    }
    if (rc != 0) {
        usage(stderr);
        return CLI_USAGE;
    }
    struct cluster_client *client = client_from_config(&o);
    if (client == NULL)
        return CLI_USAGE;

    struct cli_session s = {
        .client = client, .json = o.json, .out = stdout, .errout = stderr, .token = cluster_token};
    if (o.command[0] != '\0') {
        rc = cli_execute(&s, o.command);
        if (rc == CLI_QUIT)
            rc = CLI_OK;
    } else if (isatty(STDIN_FILENO)) {
        /* Errors go with the results so they stay in order on the screen. */
        s.errout = stdout;
        rc = repl_run(&s);
    } else {
        /* One output line per input line, errors included, so a script can pair them. */
        s.errout = stdout;
        rc = cli_run_stream(&s, stdin);
    }
    cluster_client_destroy(client);
    return rc;
}
