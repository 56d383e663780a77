/* config.h: loading and validating raft_peer.ini, the cluster's one configuration file. */
#ifndef CONFIG_H
#define CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define CONFIG_MAX_PEERS 16  /* the core's RAFT_MAX_PEERS; more sections are refused */
#define CONFIG_NAME_MAX  32  /* longest peer name, so it fits inih's 50-byte section buffer */
#define CONFIG_HOST_MAX  256 /* buffer size for a host name or address literal */
#define CONFIG_PATH_MAX  4096
#define CONFIG_TOKEN_MAX 256

/* One [peerX] section. */
struct config_peer {
    char name[64];              /* the section name: [A-Za-z0-9_-]{1,32} */
    char host[CONFIG_HOST_MAX]; /* host name or address literal, not resolved here */
    int port;                   /* 1..65535 */
    int line;                   /* line of the [name] header, for later error messages */
};

/* The whole file, with defaults filled in for absent keys. */
struct config {
    char path[CONFIG_PATH_MAX]; /* the file as given to config_load, used in error lines */

    /* [raft] */
    int election_timeout_min;          /* ms, default 150 */
    int election_timeout_max;          /* ms, default 300 */
    int heartbeat_interval;            /* ms, default 50, always < election_timeout_min */
    char data_dir[CONFIG_PATH_MAX];    /* default "data"; relative means relative to the cwd */
    char log_dir[CONFIG_PATH_MAX];     /* default "logs" */
    char token[CONFIG_TOKEN_MAX];      /* shared secret, "" when absent */
    uint64_t snapshot_threshold;       /* entries applied between snapshots, default 10000 */
    uint64_t snapshot_threshold_bytes; /* or this many payload bytes applied, default 8 MiB;
                                          0 = entries only */
    char log_level[16];                /* "debug", "info" (default), "warn" or "error" */
    int pre_vote;                      /* 0/1, default 1 */
    int check_quorum;                  /* 0/1, default 1 */

    /* [game] */
    char game_host[CONFIG_HOST_MAX]; /* default 127.0.0.1 */
    int game_port;                   /* default 7000 */
    char game_font[CONFIG_PATH_MAX]; /* TTF file for the game, "" means "find one" */

    /* every other section, in file order */
    struct config_peer peers[CONFIG_MAX_PEERS];
    int n_peers; /* at least 1 after a successful load */
};

/* Reads and validates the file. On failure returns -1 and writes one line,
 * "<file>:<line>: <what is wrong>" or "<file>: <what is wrong>", into err;
 * cfg is then unspecified. */
int config_load(const char *path, struct config *cfg, char *err, size_t errlen);

/* Checks a command line's N and NAME against a loaded file: 1 <= n <= n_peers and,
 * unless name is NULL, NAME is one of the first n peers. Returns 0 or -1 with
 * "<file>: <what is wrong>" in err. */
int config_check_cluster(const struct config *cfg, int n, const char *name, char *err,
                         size_t errlen);

/* Index of the peer called name in cfg->peers, or -1. */
int config_find_peer(const struct config *cfg, const char *name);
/* NAME is a peer section of the file (raft_peer NAME --join). 0, or -1 with err as above. */
int config_check_peer(const struct config *cfg, const char *name, char *err, size_t errlen);

/* Parses true/false, yes/no, on/off, 1/0 (any case). Returns 0 and sets *out to 0 or 1,
 * or -1 when s is none of these. */
int config_parse_bool(const char *s, int *out);

/* 1 if s is a valid peer name ([A-Za-z0-9_-], 1 to CONFIG_NAME_MAX bytes), else 0. */
int config_valid_name(const char *s);

#endif /* CONFIG_H */
