/* config.c: raft_peer.ini through inih, with every value checked and one-line errors.
 *
 * Debian's libinih is built without INI_HANDLER_LINENO and without a callback for
 * new sections, so the handler alone can neither name the line of a bad key nor see
 * an empty [peer] section. We therefore feed inih through our own line reader
 * (ini_parse_stream): it counts lines, bounds them, and follows section headers
 * itself; the key handler then knows the line and the section it is in.
 */
#include "common/config.h"
#include "common/error_message.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define MAX_FILE_BYTES (1024 * 1024) /* a sane ini is a few hundred bytes */
#define MAX_MS         60000
#define MAX_SNAPSHOT   1000000000000ULL
#define MSG_MAX        400

enum section_kind { SEC_NONE, SEC_RAFT, SEC_GAME, SEC_PEER };

enum raft_key {
    RK_ELECTION_MIN,
    RK_ELECTION_MAX,
    RK_HEARTBEAT,
    RK_DATA_DIR,
    RK_LOG_DIR,
    RK_TOKEN,
    RK_SNAPSHOT,
    RK_SNAPSHOT_BYTES,
    RK_LOG_LEVEL,
    RK_PRE_VOTE,
    RK_CHECK_QUORUM,
    RK_COUNT
};
static const char *const raft_keys[RK_COUNT] = {
    "election_timeout_min",
    "election_timeout_max",
    "heartbeat_interval",
    "data_dir",
    "log_dir",
    "token",
    "snapshot_threshold",
    "snapshot_threshold_bytes",
    "log_level",
    "pre_vote",
    "check_quorum",
};

enum game_key { GK_HOST, GK_PORT, GK_FONT, GK_COUNT };
static const char *const game_keys[GK_COUNT] = {"host", "port", "font"};

enum peer_key { PK_HOST, PK_PORT, PK_COUNT };
static const char *const peer_keys[PK_COUNT] = {"host", "port"};

/* Everything the reader and the handler share while one file is parsed. */
struct parse_state {
    FILE *f;
    struct config *cfg;
    long bytes; /* read so far, against MAX_FILE_BYTES */
    int lineno; /* line last handed to inih, so the line the handler is called for */

    enum section_kind kind;
    char section[64]; /* current section name as we read it from the header */
    int peer;         /* index in cfg->peers when kind == SEC_PEER */

    /* line where each key was set, 0 if not set: duplicate keys and cross-checks */
    int raft_line[RK_COUNT];
    int game_line[GK_COUNT];
    int peer_line[CONFIG_MAX_PEERS][PK_COUNT];

    int err_line; /* 0 with err_msg set means a file-level error */
    int failed;
    char err_msg[MSG_MAX];
};

/* Records the first error only: later ones are usually consequences of it. Returns 0 so
 * the handler can `return fail(...)` to tell inih the line was bad. */
__attribute__((format(printf, 3, 4))) static int fail(struct parse_state *st, int line,
                                                      const char *fmt, ...)
{
    va_list ap;

    if (st->failed)
        return 0;
    st->failed = 1;
    st->err_line = line;
    va_start(ap, fmt);
    vsnprintf(st->err_msg, sizeof(st->err_msg), fmt, ap);
    va_end(ap);
    return 0;
}

/* A file's bytes echoed in a message: bounded, and no control characters that could
 * mess up a terminal. */
static const char *shown(const char *s, char *buf, size_t cap)
{
    size_t i;

    for (i = 0; s[i] != '\0' && i + 4 < cap; i++)
        buf[i] = (unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f ? '?' : s[i];
    if (s[i] != '\0' && cap >= 4) {
        memcpy(buf + i, "...", 3);
        i += 3;
    }
    buf[i] = '\0';
    return buf;
}

int config_valid_name(const char *s)
{
    size_t n = 0;

    for (; s[n] != '\0'; n++) {
        unsigned char c = (unsigned char)s[n];
        if (n >= CONFIG_NAME_MAX || !(isalnum(c) || c == '_' || c == '-') || c > 0x7f)
            return 0;
    }
    return n > 0;
}

int config_parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};

    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

/* Decimal digits only (no sign, no spaces, no suffix), within [lo, hi]. */
static int parse_uint(const char *s, unsigned long long lo, unsigned long long hi,
                      unsigned long long *out)
{
    unsigned long long v = 0;

    if (*s == '\0')
        return -1;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (unsigned long long)(*s - '0');
        if (v > hi)
            return -1; /* also stops before v * 10 could overflow */
    }
    if (v < lo)
        return -1;
    *out = v;
    return 0;
}

static int set_ms(struct parse_state *st, const char *key, const char *v, int *out)
{
    unsigned long long n;
    char b[48];

    if (parse_uint(v, 1, MAX_MS, &n) < 0)
        return fail(st, st->lineno,
                    "%s must be a whole number of milliseconds from 1 to %d, not '%s'", key, MAX_MS,
                    shown(v, b, sizeof(b)));
    *out = (int)n;
    return 1;
}

static int set_port(struct parse_state *st, const char *key, const char *v, int *out)
{
    unsigned long long n;
    char b[48];

    if (parse_uint(v, 1, 65535, &n) < 0)
        return fail(st, st->lineno, "%s must be a port number from 1 to 65535, not '%s'", key,
                    shown(v, b, sizeof(b)));
    *out = (int)n;
    return 1;
}

/* Names and address literals (IPv4, IPv6 with an optional %scope); no resolution here. */
static int set_host(struct parse_state *st, const char *key, const char *v, char *out)
{
    size_t n = strlen(v);
    char b[48];

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (!(isalnum(c) || strchr(".-_:%", c) != NULL) || c > 0x7f)
            return fail(st, st->lineno, "%s '%s' is not a host name or address", key,
                        shown(v, b, sizeof(b)));
    }
    if (n >= CONFIG_HOST_MAX)
        return fail(st, st->lineno, "%s is longer than %d characters", key, CONFIG_HOST_MAX - 1);
    memcpy(out, v, n + 1);
    return 1;
}

/* Paths get the peer name and a file name appended later, so keep room for them. */
static int set_path(struct parse_state *st, const char *key, const char *v, char *out)
{
    size_t n = strlen(v);

    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
            return fail(st, st->lineno, "%s contains a control character", key);
    if (n >= CONFIG_PATH_MAX - 256)
        return fail(st, st->lineno, "%s is longer than %d characters", key, CONFIG_PATH_MAX - 257);
    memcpy(out, v, n + 1);
    return 1;
}

static int set_bool(struct parse_state *st, const char *key, const char *v, int *out)
{
    char b[48];

    if (config_parse_bool(v, out) < 0)
        return fail(st, st->lineno, "%s must be true or false, not '%s'", key,
                    shown(v, b, sizeof(b)));
    return 1;
}

static int raft_value(struct parse_state *st, enum raft_key k, const char *v)
{
    struct config *cfg = st->cfg;
    const char *key = raft_keys[k];
    unsigned long long n;
    char b[48];

    switch (k) {
    case RK_ELECTION_MIN:
        return set_ms(st, key, v, &cfg->election_timeout_min);
    case RK_ELECTION_MAX:
        return set_ms(st, key, v, &cfg->election_timeout_max);
    case RK_HEARTBEAT:
        return set_ms(st, key, v, &cfg->heartbeat_interval);
    case RK_DATA_DIR:
        return set_path(st, key, v, cfg->data_dir);
    case RK_LOG_DIR:
        return set_path(st, key, v, cfg->log_dir);
    case RK_TOKEN:
        for (size_t i = 0; v[i] != '\0'; i++)
            if (!isgraph((unsigned char)v[i]) || (unsigned char)v[i] > 0x7f || v[i] == '"' ||
                v[i] == '\\')
                return fail(st, st->lineno,
                            "token may only hold printable ASCII without spaces, quotes or "
                            "backslashes");
        if (strlen(v) >= sizeof(cfg->token))
            return fail(st, st->lineno, "token is longer than %zu characters",
                        sizeof(cfg->token) - 1);
        strcpy(cfg->token, v);
        return 1;
    case RK_SNAPSHOT:
        if (parse_uint(v, 1, MAX_SNAPSHOT, &n) < 0)
            return fail(st, st->lineno,
                        "snapshot_threshold must be a whole number from 1 to %llu, not '%s'",
                        MAX_SNAPSHOT, shown(v, b, sizeof(b)));
        cfg->snapshot_threshold = n;
        return 1;
    case RK_SNAPSHOT_BYTES:
        if (parse_uint(v, 0, MAX_SNAPSHOT, &n) < 0)
            return fail(st, st->lineno,
                        "snapshot_threshold_bytes must be a whole number from 0 to %llu, not '%s'",
                        MAX_SNAPSHOT, shown(v, b, sizeof(b)));
        cfg->snapshot_threshold_bytes = n;
        return 1;
    case RK_LOG_LEVEL:
        if (strcmp(v, "debug") != 0 && strcmp(v, "info") != 0 && strcmp(v, "warn") != 0 &&
            strcmp(v, "error") != 0)
            return fail(st, st->lineno, "log_level must be debug, info, warn or error, not '%s'",
                        shown(v, b, sizeof(b)));
        strcpy(cfg->log_level, v);
        return 1;
    case RK_PRE_VOTE:
        return set_bool(st, key, v, &cfg->pre_vote);
    case RK_CHECK_QUORUM:
        return set_bool(st, key, v, &cfg->check_quorum);
    case RK_COUNT:
        break;
    }
    return fail(st, st->lineno, "internal error: unhandled key");
}

static int game_value(struct parse_state *st, enum game_key k, const char *v)
{
    switch (k) {
    case GK_HOST:
        return set_host(st, "host", v, st->cfg->game_host);
    case GK_PORT:
        return set_port(st, "port", v, &st->cfg->game_port);
    case GK_FONT:
        return set_path(st, "font", v, st->cfg->game_font);
    case GK_COUNT:
        break;
    }
    return fail(st, st->lineno, "internal error: unhandled key");
}

static int peer_value(struct parse_state *st, enum peer_key k, const char *v)
{
    struct config_peer *p = &st->cfg->peers[st->peer];

    switch (k) {
    case PK_HOST:
        return set_host(st, "host", v, p->host);
    case PK_PORT:
        return set_port(st, "port", v, &p->port);
    case PK_COUNT:
        break;
    }
    return fail(st, st->lineno, "internal error: unhandled key");
}

static int find_key(const char *const *keys, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(keys[i], name) == 0)
            return i;
    return -1;
}

/* "host, port or font": for the unknown-key message. */
static void key_list(const char *const *keys, int n, char *buf, size_t cap)
{
    size_t used = 0;

    buf[0] = '\0';
    for (int i = 0; i < n && used < cap; i++) {
        const char *sep = i == 0 ? "" : i == n - 1 ? " or " : ", ";
        int w = snprintf(buf + used, cap - used, "%s%s", sep, keys[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

/* inih's callback, once per key = value line. */
static int on_key(void *user, const char *section, const char *name, const char *value)
{
    struct parse_state *st = user;
    const char *const *keys;
    int n_keys, k, *lines;
    char b[48], list[MSG_MAX / 2];

    if (st->failed)
        return 0;
    if (st->kind == SEC_NONE)
        return fail(st, st->lineno,
                    "'%s' is outside any section; put it under [raft], [game] or a [peer]",
                    shown(name, b, sizeof(b)));
    /* Our header parsing and inih's must agree, or a key could land in the wrong peer. */
    if (strcmp(section, st->section) != 0)
        return fail(st, st->lineno, "cannot tell which section this line belongs to");

    switch (st->kind) {
    case SEC_RAFT:
        keys = raft_keys, n_keys = RK_COUNT, lines = st->raft_line;
        break;
    case SEC_GAME:
        keys = game_keys, n_keys = GK_COUNT, lines = st->game_line;
        break;
    default:
        keys = peer_keys, n_keys = PK_COUNT, lines = st->peer_line[st->peer];
        break;
    }
    k = find_key(keys, n_keys, name);
    if (k < 0) {
        key_list(keys, n_keys, list, sizeof(list));
        return fail(st, st->lineno, "unknown key '%s' in [%s] (expected %s)",
                    shown(name, b, sizeof(b)), st->section, list);
    }
    if (lines[k] != 0)
        return fail(st, st->lineno, "%s is set twice in [%s] (first on line %d)", name, st->section,
                    lines[k]);
    lines[k] = st->lineno;
    if (value[0] == '\0')
        return fail(st, st->lineno, "%s has no value", name);

    switch (st->kind) {
    case SEC_RAFT:
        return raft_value(st, (enum raft_key)k, value);
    case SEC_GAME:
        return game_value(st, (enum game_key)k, value);
    default:
        return peer_value(st, (enum peer_key)k, value);
    }
}

static int begin_section(struct parse_state *st, const char *name, size_t len)
{
    struct config *cfg = st->cfg;
    char b[48];
    int dup;

    if (len >= sizeof(st->section))
        return fail(st, st->lineno, "section name is longer than %d characters", CONFIG_NAME_MAX);
    memcpy(st->section, name, len);
    st->section[len] = '\0';

    if (strcmp(st->section, "raft") == 0) {
        st->kind = SEC_RAFT;
        return 1;
    }
    if (strcmp(st->section, "game") == 0) {
        st->kind = SEC_GAME;
        return 1;
    }
    if (!config_valid_name(st->section))
        return fail(st, st->lineno, "bad peer name '%s': use 1 to %d letters, digits, '_' or '-'",
                    shown(st->section, b, sizeof(b)), CONFIG_NAME_MAX);
    dup = config_find_peer(cfg, st->section);
    if (dup >= 0)
        return fail(st, st->lineno, "peer %s is defined twice (first on line %d)", st->section,
                    cfg->peers[dup].line);
    if (cfg->n_peers >= CONFIG_MAX_PEERS)
        return fail(st, st->lineno, "too many peers: at most %d are supported", CONFIG_MAX_PEERS);

    st->kind = SEC_PEER;
    st->peer = cfg->n_peers++;
    memset(&cfg->peers[st->peer], 0, sizeof(cfg->peers[st->peer]));
    strcpy(cfg->peers[st->peer].name, st->section);
    cfg->peers[st->peer].line = st->lineno;
    return 1;
}

/* Looks at one raw line before inih does: section headers, and lines inih would
 * misread. Returns 1 if the line may go on to inih. */
static int scan_line(struct parse_state *st, const char *line)
{
    const char *start = line, *p, *close, *rest;

    if (st->lineno == 1 && strncmp(start, "\xEF\xBB\xBF", 3) == 0)
        start += 3; /* inih skips a UTF-8 byte order mark too */
    for (p = start; *p == ' ' || *p == '\t' || *p == '\r' || *p == '\f' || *p == '\v'; p++)
        ;
    if (*p == '\0' || *p == '\n' || *p == ';' || *p == '#')
        return 1;
    if (p != start)
        /* inih reads an indented line after a key as more of that key's value */
        return fail(st, st->lineno, "indented line: start keys and [sections] in the first column");
    if (*p != '[')
        return 1;

    close = strchr(p, ']');
    if (close == NULL)
        return fail(st, st->lineno, "section header has no closing ']'");
    for (rest = close + 1; *rest == ' ' || *rest == '\t' || *rest == '\r'; rest++)
        ;
    if (*rest != '\0' && *rest != '\n' && *rest != ';' && *rest != '#')
        return fail(st, st->lineno, "unexpected text after the section header");
    return begin_section(st, p + 1, (size_t)(close - (p + 1)));
}

/* inih's fgets-like reader: one whole line or an error, never a silently split line. */
static char *read_line(char *str, int num, void *stream)
{
    struct parse_state *st = stream;
    size_t n = 0;
    int c = EOF, too_long = 0, nul = 0;

    if (st->failed || num < 4)
        return NULL;
    while ((c = getc(st->f)) != EOF) {
        if (++st->bytes > MAX_FILE_BYTES) {
            fail(st, 0, "file is larger than %d bytes", MAX_FILE_BYTES);
            return NULL;
        }
        if (c == '\n')
            break;
        if (c == '\0')
            nul = 1;
        if (n < (size_t)num - 2)
            str[n++] = (char)c;
        else
            too_long = 1;
    }
    if (ferror(st->f)) {
        fail(st, 0, "cannot read: %s", strerror(errno));
        return NULL;
    }
    if (c == EOF && n == 0 && !too_long)
        return NULL;
    st->lineno++;
    if (too_long) {
        fail(st, st->lineno, "line is longer than %d characters", num - 2);
        return NULL;
    }
    if (nul) {
        fail(st, st->lineno, "line contains a NUL byte");
        return NULL;
    }
    if (c == '\n')
        str[n++] = '\n';
    str[n] = '\0';
    if (!scan_line(st, str))
        return NULL;
    return str;
}

static void set_defaults(struct config *cfg)
{
    cfg->election_timeout_min = 150;
    cfg->election_timeout_max = 300;
    cfg->heartbeat_interval = 50;
    strcpy(cfg->data_dir, "data");
    strcpy(cfg->log_dir, "logs");
    cfg->token[0] = '\0';
    cfg->snapshot_threshold = 10000;
    cfg->snapshot_threshold_bytes = 8u << 20;
    strcpy(cfg->log_level, "info");
    cfg->pre_vote = 1;
    cfg->check_quorum = 1;
    strcpy(cfg->game_host, "127.0.0.1");
    cfg->game_port = 7000;
    cfg->game_font[0] = '\0';
    cfg->n_peers = 0;
}

static int later(int a, int b)
{
    return a > b ? a : b;
}

/* Checks that need the whole file. */
static void check_whole(struct parse_state *st)
{
    struct config *cfg = st->cfg;
    const int *rl = st->raft_line;

    if (cfg->n_peers == 0) {
        fail(st, 0, "no peer sections (every section other than [raft] and [game] is a peer)");
        return;
    }
    for (int i = 0; i < cfg->n_peers; i++) {
        struct config_peer *p = &cfg->peers[i];
        if (st->peer_line[i][PK_HOST] == 0) {
            fail(st, p->line, "peer %s has no host", p->name);
            return;
        }
        if (st->peer_line[i][PK_PORT] == 0) {
            fail(st, p->line, "peer %s has no port", p->name);
            return;
        }
        for (int j = 0; j < i; j++) {
            if (cfg->peers[j].port == p->port && strcasecmp(cfg->peers[j].host, p->host) == 0) {
                fail(st, p->line, "peer %s has the same address %s:%d as peer %s (line %d)",
                     p->name, p->host, p->port, cfg->peers[j].name, cfg->peers[j].line);
                return;
            }
        }
    }
    if (cfg->election_timeout_min > cfg->election_timeout_max) {
        fail(st, later(rl[RK_ELECTION_MIN], rl[RK_ELECTION_MAX]),
             "election_timeout_min (%d) is greater than election_timeout_max (%d)",
             cfg->election_timeout_min, cfg->election_timeout_max);
        return;
    }
    if (cfg->heartbeat_interval >= cfg->election_timeout_min) {
        fail(st, later(rl[RK_HEARTBEAT], rl[RK_ELECTION_MIN]),
             "heartbeat_interval (%d) must be less than election_timeout_min (%d)",
             cfg->heartbeat_interval, cfg->election_timeout_min);
        return;
    }
}

static void put_err(char *err, size_t errlen, const char *file, int line, const char *msg)
{
    char b[256];

    if (err == NULL || errlen == 0)
        return;
    shown(file, b, sizeof(b));
    if (line > 0)
        set_err(err, errlen, "%s:%d: %s", b, line, msg);
    else
        set_err(err, errlen, "%s: %s", b, msg);
}

int config_load(const char *path, struct config *cfg, char *err, size_t errlen)
{
    struct parse_state *st;
    struct stat sb;
    int rc = -1, ret;

    if (path == NULL || cfg == NULL) {
        put_err(err, errlen, "(null)", 0, "no configuration file given");
        return -1;
    }
    /* The state holds a few hundred line numbers: keep it off small thread stacks. */
    st = calloc(1, sizeof(*st));
    if (st == NULL) {
        put_err(err, errlen, path, 0, "out of memory");
        return -1;
    }
    memset(cfg, 0, sizeof(*cfg));
    set_defaults(cfg);
    st->cfg = cfg;
    if (strlen(path) >= sizeof(cfg->path)) {
        fail(st, 0, "path is too long");
        goto out;
    }
    strcpy(cfg->path, path);

    st->f = fopen(path, "r");
    if (st->f == NULL) {
        fail(st, 0, "cannot open: %s", strerror(errno));
        goto out;
    }
    if (fstat(fileno(st->f), &sb) == 0 && S_ISDIR(sb.st_mode)) {
        fail(st, 0, "is a directory, not a configuration file");
        goto out;
    }

    ret = ini_parse_stream(read_line, st, on_key, st);
    if (ret > 0 && (!st->failed || st->err_line == 0 || ret < st->err_line)) {
        /* inih found a line it could not read before any error of ours */
        st->failed = 0;
        fail(st, ret, "syntax error: expected [section], key = value or a ; comment");
    } else if (ret < 0 && !st->failed) {
        fail(st, 0, "out of memory while parsing");
    }
    if (!st->failed)
        check_whole(st);
    if (!st->failed)
        rc = 0;
out:
    if (st->failed)
        put_err(err, errlen, path, st->err_line, st->err_msg);
    if (st->f != NULL)
        fclose(st->f);
    free(st);
    return rc;
}

int config_find_peer(const struct config *cfg, const char *name)
{
    if (cfg == NULL || name == NULL)
        return -1;
    for (int i = 0; i < cfg->n_peers; i++)
        if (strcmp(cfg->peers[i].name, name) == 0)
            return i;
    return -1;
}

int config_check_peer(const struct config *cfg, const char *name, char *err, size_t errlen)
{
    char msg[MSG_MAX], b[48];
    if (config_find_peer(cfg, name) >= 0)
        return 0;
    snprintf(msg, sizeof(msg), "no peer named '%s'", shown(name, b, sizeof(b)));
    put_err(err, errlen, cfg->path, 0, msg);
    return -1;
}

int config_check_cluster(const struct config *cfg, int n, const char *name, char *err,
                         size_t errlen)
{
    char msg[MSG_MAX], b[48];
    int i;

    if (n < 1) {
        snprintf(msg, sizeof(msg), "cluster size N must be at least 1, not %d", n);
        goto bad;
    }
    if (n > cfg->n_peers) {
        snprintf(msg, sizeof(msg), "cluster size N = %d is larger than the %d peers in the file", n,
                 cfg->n_peers);
        goto bad;
    }
    if (name == NULL)
        return 0;
    i = config_find_peer(cfg, name);
    if (i < 0) {
        snprintf(msg, sizeof(msg), "no peer named '%s'", shown(name, b, sizeof(b)));
        goto bad;
    }
    if (i >= n) {
        if (n == 1)
            snprintf(msg, sizeof(msg),
                     "peer %s is not in a cluster of 1 (the cluster is the first peer, %s)", name,
                     cfg->peers[0].name);
        else
            snprintf(
                msg, sizeof(msg),
                "peer %s is not in a cluster of %d (the cluster is the first %d peers, %s to %s)",
                name, n, n, cfg->peers[0].name, cfg->peers[n - 1].name);
        goto bad;
    }
    return 0;
bad:
    put_err(err, errlen, cfg->path, 0, msg);
    return -1;
}
