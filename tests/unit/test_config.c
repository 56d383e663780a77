/* test_config.c: raft_peer.ini loading: the shipped file, defaults, and refused files. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"

/* The temporary file of the current test; removed by the fixture. */
static char tmp_path[64];

static void remove_tmp(void)
{
    if (tmp_path[0] != '\0')
        unlink(tmp_path);
    tmp_path[0] = '\0';
}

/* Writes text (len bytes, so NULs can be tested) to a fresh file under /tmp. */
static const char *write_ini_n(const char *text, size_t len)
{
    remove_tmp();
    strcpy(tmp_path, "/tmp/test_config_XXXXXX");
    int fd = mkstemp(tmp_path);
    cr_assert(fd >= 0, "mkstemp failed");
    cr_assert_eq(write(fd, text, len), (ssize_t)len);
    close(fd);
    return tmp_path;
}

static const char *write_ini(const char *text)
{
    return write_ini_n(text, strlen(text));
}

/* Loads text that must be refused and checks the whole error line. */
static void expect_error(const char *text, int line, const char *what)
{
    struct config cfg;
    char err[512], want[512];
    const char *path = write_ini(text);

    cr_assert_eq(config_load(path, &cfg, err, sizeof(err)), -1, "accepted:\n%s", text);
    if (line > 0)
        snprintf(want, sizeof(want), "%s:%d: %s", path, line, what);
    else
        snprintf(want, sizeof(want), "%s: %s", path, what);
    cr_assert_str_eq(err, want);
    cr_assert_null(strchr(err, '\n'), "the error must be one line");
}

static void load_ok(const char *text, struct config *cfg)
{
    char err[512] = "";
    const char *path = write_ini(text);

    cr_assert_eq(config_load(path, cfg, err, sizeof(err)), 0, "refused: %s", err);
}

#define PEERS2 "[peer1]\nhost = 127.0.0.1\nport = 6001\n[peer2]\nhost = 127.0.0.1\nport = 6002\n"

TestSuite(config, .fini = remove_tmp);

Test(config, shipped_file_loads)
{
    struct config cfg;
    char err[512] = "";
    const char *path = access("raft_peer.ini", R_OK) == 0 ? "raft_peer.ini" : "../../raft_peer.ini";

    cr_assert_eq(config_load(path, &cfg, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(cfg.n_peers, 9);
    for (int i = 0; i < 9; i++) {
        char name[16];
        snprintf(name, sizeof(name), "peer%d", i + 1);
        cr_assert_str_eq(cfg.peers[i].name, name);
        cr_assert_str_eq(cfg.peers[i].host, "127.0.0.1");
        cr_assert_eq(cfg.peers[i].port, 6001 + i);
        cr_assert_eq(config_find_peer(&cfg, name), i);
    }
    cr_assert_eq(cfg.election_timeout_min, 150);
    cr_assert_eq(cfg.election_timeout_max, 300);
    cr_assert_eq(cfg.heartbeat_interval, 50);
    cr_assert_str_eq(cfg.data_dir, "data");
    cr_assert_str_eq(cfg.log_dir, "logs");
    cr_assert_str_eq(cfg.game_host, "127.0.0.1");
    cr_assert_eq(cfg.game_port, 7000);
    cr_assert_str_eq(cfg.path, path);
    cr_assert_eq(config_check_cluster(&cfg, 9, "peer9", err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(config_check_cluster(&cfg, 3, "peer3", err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(config_check_cluster(&cfg, 5, NULL, err, sizeof(err)), 0, "%s", err);
}

Test(config, defaults_when_keys_absent)
{
    struct config cfg;

    load_ok(PEERS2, &cfg);
    cr_assert_eq(cfg.n_peers, 2);
    cr_assert_eq(cfg.election_timeout_min, 150);
    cr_assert_eq(cfg.election_timeout_max, 300);
    cr_assert_eq(cfg.heartbeat_interval, 50);
    cr_assert_str_eq(cfg.data_dir, "data");
    cr_assert_str_eq(cfg.log_dir, "logs");
    cr_assert_str_eq(cfg.token, "");
    cr_assert_eq(cfg.snapshot_threshold, 10000);
    cr_assert_eq(cfg.snapshot_threshold_bytes, 8u << 20);
    cr_assert_str_eq(cfg.log_level, "info");
    cr_assert_eq(cfg.pre_vote, 1);
    cr_assert_eq(cfg.check_quorum, 1);
    cr_assert_str_eq(cfg.game_host, "127.0.0.1");
    cr_assert_eq(cfg.game_port, 7000);
    cr_assert_str_eq(cfg.game_font, "");
    cr_assert_eq(cfg.peers[1].line, 4);
}

Test(config, optional_keys_and_file_order)
{
    struct config cfg;

    load_ok("\xEF\xBB\xBF; a BOM and CRLF line ends are fine\r\n"
            "[raft]\r\n"
            "token = s3cret!\r\n"
            "snapshot_threshold = 42   ; inline comment\r\n"
            "snapshot_threshold_bytes = 0\r\n"
            "log_level = debug\r\n"
            "pre_vote = false\r\n"
            "check_quorum = No\r\n"
            "data_dir = /var/lib/raft\r\n"
            "[zeta]\r\nhost = ::1\r\nport = 1\r\n"
            "[game]\r\nhost = game.example\r\nport = 65535\r\nfont = /usr/share/f.ttf\r\n"
            "[alpha-2_b]\r\nhost = localhost\r\nport = 6001\r\n",
            &cfg);
    cr_assert_str_eq(cfg.token, "s3cret!");
    cr_assert_eq(cfg.snapshot_threshold, 42);
    cr_assert_eq(cfg.snapshot_threshold_bytes, 0);
    cr_assert_str_eq(cfg.log_level, "debug");
    cr_assert_eq(cfg.pre_vote, 0);
    cr_assert_eq(cfg.check_quorum, 0);
    cr_assert_str_eq(cfg.data_dir, "/var/lib/raft");
    cr_assert_str_eq(cfg.game_host, "game.example");
    cr_assert_eq(cfg.game_port, 65535);
    cr_assert_str_eq(cfg.game_font, "/usr/share/f.ttf");
    cr_assert_eq(cfg.n_peers, 2);
    cr_assert_str_eq(cfg.peers[0].name, "zeta");
    cr_assert_str_eq(cfg.peers[0].host, "::1");
    cr_assert_str_eq(cfg.peers[1].name, "alpha-2_b");
    cr_assert_eq(cfg.peers[1].line, 17);
}

Test(config, syntax_error)
{
    expect_error("[raft]\nelection_timeout_min = 150\nthis line is not ini\n" PEERS2, 3,
                 "syntax error: expected [section], key = value or a ; comment");
}

Test(config, first_error_wins)
{
    /* the syntax error on line 2 comes before the unknown key on line 3 */
    expect_error("[peer1]\noops\nhots = x\n", 2,
                 "syntax error: expected [section], key = value or a ; comment");
    expect_error("[peer1]\nhots = x\noops\n", 2,
                 "unknown key 'hots' in [peer1] (expected host or port)");
}

Test(config, unknown_keys)
{
    expect_error(PEERS2 "[peer3]\nhost = 127.0.0.1\nhots = 127.0.0.1\n", 9,
                 "unknown key 'hots' in [peer3] (expected host or port)");
    expect_error("[raft]\nelection_timeout = 100\n" PEERS2, 2,
                 "unknown key 'election_timeout' in [raft] (expected election_timeout_min, "
                 "election_timeout_max, heartbeat_interval, data_dir, log_dir, token, "
                 "snapshot_threshold, snapshot_threshold_bytes, log_level, pre_vote or "
                 "check_quorum)");
    expect_error(PEERS2 "[game]\nhost = 127.0.0.1\nPort = 7000\n", 9,
                 "unknown key 'Port' in [game] (expected host, port or font)");
}

Test(config, missing_host_or_port)
{
    expect_error("[peer1]\nhost = 127.0.0.1\nport = 6001\n\n[peer2]\nhost = 127.0.0.1\n", 5,
                 "peer peer2 has no port");
    expect_error("[peer1]\nport = 6001\n[peer2]\nhost = 127.0.0.1\nport = 6002\n", 1,
                 "peer peer1 has no host");
    /* an empty section is a peer too, even though inih never reports it */
    expect_error(PEERS2 "[peer3]\n; nothing here\n", 7, "peer peer3 has no host");
}

Test(config, duplicate_peer_name)
{
    expect_error(PEERS2 "[peer1]\nhost = 127.0.0.1\nport = 6003\n", 7,
                 "peer peer1 is defined twice (first on line 1)");
}

Test(config, duplicate_address)
{
    expect_error(PEERS2 "[peer3]\nhost = 127.0.0.1\nport = 6001\n", 7,
                 "peer peer3 has the same address 127.0.0.1:6001 as peer peer1 (line 1)");
    /* same port on another host is fine */
    struct config cfg;
    load_ok(PEERS2 "[peer3]\nhost = 127.0.0.2\nport = 6001\n", &cfg);
    cr_assert_eq(cfg.n_peers, 3);
}

Test(config, duplicate_key)
{
    expect_error("[peer1]\nhost = 127.0.0.1\nport = 6001\nport = 6002\n", 4,
                 "port is set twice in [peer1] (first on line 3)");
    expect_error("[raft]\nheartbeat_interval = 20\n" PEERS2 "[raft]\nheartbeat_interval = 30\n", 10,
                 "heartbeat_interval is set twice in [raft] (first on line 2)");
}

Test(config, timeout_min_greater_than_max)
{
    expect_error("[raft]\nelection_timeout_min = 400\nelection_timeout_max = 300\n" PEERS2, 3,
                 "election_timeout_min (400) is greater than election_timeout_max (300)");
    /* against the default max, the line is the one that set min */
    expect_error(PEERS2 "[raft]\nelection_timeout_min = 301\n", 8,
                 "election_timeout_min (301) is greater than election_timeout_max (300)");
}

Test(config, heartbeat_not_below_min)
{
    expect_error("[raft]\nheartbeat_interval = 150\n" PEERS2, 2,
                 "heartbeat_interval (150) must be less than election_timeout_min (150)");
    expect_error("[raft]\nheartbeat_interval = 40\nelection_timeout_min = 40\n" PEERS2, 3,
                 "heartbeat_interval (40) must be less than election_timeout_min (40)");
}

Test(config, bad_numbers)
{
    expect_error("[peer1]\nhost = 127.0.0.1\nport = 70000\n", 3,
                 "port must be a port number from 1 to 65535, not '70000'");
    expect_error("[peer1]\nhost = 127.0.0.1\nport = 0\n", 3,
                 "port must be a port number from 1 to 65535, not '0'");
    expect_error("[peer1]\nhost = 127.0.0.1\nport = 60o1\n", 3,
                 "port must be a port number from 1 to 65535, not '60o1'");
    expect_error("[peer1]\nhost = 127.0.0.1\nport = -1\n", 3,
                 "port must be a port number from 1 to 65535, not '-1'");
    expect_error("[raft]\nelection_timeout_max = 99999999999999999999999\n" PEERS2, 2,
                 "election_timeout_max must be a whole number of milliseconds from 1 to 60000, "
                 "not '99999999999999999999999'");
    expect_error("[raft]\nheartbeat_interval = 50ms\n" PEERS2, 2,
                 "heartbeat_interval must be a whole number of milliseconds from 1 to 60000, "
                 "not '50ms'");
    expect_error("[raft]\nsnapshot_threshold = 0\n" PEERS2, 2,
                 "snapshot_threshold must be a whole number from 1 to 1000000000000, not '0'");
}

Test(config, bad_values)
{
    expect_error("[peer1]\nhost =\nport = 6001\n", 2, "host has no value");
    expect_error("[peer1]\nhost = 127.0.0.1 # not a comment\nport = 6001\n", 2,
                 "host '127.0.0.1 # not a comment' is not a host name or address");
    expect_error("[raft]\npre_vote = maybe\n" PEERS2, 2,
                 "pre_vote must be true or false, not 'maybe'");
    expect_error("[raft]\nlog_level = loud\n" PEERS2, 2,
                 "log_level must be debug, info, warn or error, not 'loud'");
    expect_error("[raft]\ntoken = two words\n" PEERS2, 2,
                 "token may only hold printable ASCII without spaces, quotes or backslashes");
    expect_error("[raft]\ntoken = a\"b\n" PEERS2, 2,
                 "token may only hold printable ASCII without spaces, quotes or backslashes");
}

Test(config, bad_sections_and_lines)
{
    expect_error("host = 127.0.0.1\n" PEERS2, 1,
                 "'host' is outside any section; put it under [raft], [game] or a [peer]");
    expect_error(PEERS2 "[peer/3]\nhost = 127.0.0.1\nport = 6003\n", 7,
                 "bad peer name 'peer/3': use 1 to 32 letters, digits, '_' or '-'");
    expect_error(PEERS2 "[]\n", 7, "bad peer name '': use 1 to 32 letters, digits, '_' or '-'");
    expect_error(PEERS2 "[peer3\n", 7, "section header has no closing ']'");
    expect_error(PEERS2 "[peer3] x\n", 7, "unexpected text after the section header");
    expect_error("[peer1]\n  host = 127.0.0.1\n  port = 6001\n", 2,
                 "indented line: start keys and [sections] in the first column");
    expect_error("[raft]\n", 0,
                 "no peer sections (every section other than [raft] and [game] is a peer)");
    expect_error("", 0, "no peer sections (every section other than [raft] and [game] is a peer)");
}

Test(config, long_line_and_nul)
{
    char text[1024];

    snprintf(text, sizeof(text), "[peer1]\nhost = %0300d\nport = 6001\n", 1);
    expect_error(text, 2, "line is longer than 198 characters");

    struct config cfg;
    char err[512];
    static const char nul_text[] = "[peer1]\nhost = 127.0.0.1\0junk\nport = 6001\n";
    const char *path = write_ini_n(nul_text, sizeof(nul_text) - 1);
    cr_assert_eq(config_load(path, &cfg, err, sizeof(err)), -1);
    cr_assert(strstr(err, ":2: line contains a NUL byte") != NULL, "%s", err);
}

Test(config, too_many_peers)
{
    char text[4096];
    size_t len = 0;

    for (int i = 1; i <= 17; i++)
        len += (size_t)snprintf(text + len, sizeof(text) - len,
                                "[p%d]\nhost = 127.0.0.1\nport = %d\n", i, 6000 + i);
    expect_error(text, 49, "too many peers: at most 16 are supported");
    /* sixteen are fine */
    struct config cfg;
    text[strstr(text, "[p17]") - text] = '\0';
    load_ok(text, &cfg);
    cr_assert_eq(cfg.n_peers, 16);
}

Test(config, missing_file)
{
    struct config cfg;
    char err[512];

    cr_assert_eq(config_load("/nonexistent/raft_peer.ini", &cfg, err, sizeof(err)), -1);
    cr_assert_str_eq(err, "/nonexistent/raft_peer.ini: cannot open: No such file or directory");
    cr_assert_eq(config_load("/tmp", &cfg, err, sizeof(err)), -1);
    cr_assert_str_eq(err, "/tmp: is a directory, not a configuration file");
}

Test(config, cluster_size_and_name)
{
    struct config cfg;
    char err[512], want[600];

    load_ok(PEERS2 "[peer3]\nhost = 127.0.0.1\nport = 6003\n", &cfg);

    cr_assert_eq(config_check_cluster(&cfg, 4, "peer1", err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s: cluster size N = 4 is larger than the 3 peers in the file",
             tmp_path);
    cr_assert_str_eq(err, want);

    cr_assert_eq(config_check_cluster(&cfg, 0, NULL, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s: cluster size N must be at least 1, not 0", tmp_path);
    cr_assert_str_eq(err, want);

    cr_assert_eq(config_check_cluster(&cfg, 2, "peer3", err, sizeof(err)), -1);
    snprintf(want, sizeof(want),
             "%s: peer peer3 is not in a cluster of 2 (the cluster is the first 2 peers, peer1 "
             "to peer2)",
             tmp_path);
    cr_assert_str_eq(err, want);

    cr_assert_eq(config_check_cluster(&cfg, 1, "peer2", err, sizeof(err)), -1);
    snprintf(want, sizeof(want),
             "%s: peer peer2 is not in a cluster of 1 (the cluster is the first peer, peer1)",
             tmp_path);
    cr_assert_str_eq(err, want);

    cr_assert_eq(config_check_cluster(&cfg, 3, "peer4", err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s: no peer named 'peer4'", tmp_path);
    cr_assert_str_eq(err, want);

    cr_assert_eq(config_check_cluster(&cfg, 3, "peer3", err, sizeof(err)), 0);
    cr_assert_eq(config_find_peer(&cfg, "peer4"), -1);
    cr_assert_eq(config_find_peer(&cfg, "peer2"), 1);
}

Test(config, parse_bool_and_names)
{
    int v = -1;

    cr_assert_eq(config_parse_bool("TRUE", &v), 0);
    cr_assert_eq(v, 1);
    cr_assert_eq(config_parse_bool("off", &v), 0);
    cr_assert_eq(v, 0);
    cr_assert_eq(config_parse_bool("", &v), -1);
    cr_assert_eq(config_parse_bool("truee", &v), -1);
    cr_assert(config_valid_name("peer-1_X"));
    cr_assert_not(config_valid_name(""));
    cr_assert_not(config_valid_name("a b"));
    cr_assert_not(config_valid_name("p\xc3\xa9"));
    cr_assert(config_valid_name("abcdefghijklmnopqrstuvwxyz012345"));      /* 32 */
    cr_assert_not(config_valid_name("abcdefghijklmnopqrstuvwxyz0123456")); /* 33 */
}

Test(config, small_error_buffer_is_safe)
{
    struct config cfg;
    char err[8];
    const char *path = write_ini("[peer1]\nport = 1\n");

    cr_assert_eq(config_load(path, &cfg, err, sizeof(err)), -1);
    cr_assert_eq(strlen(err), 7);
    cr_assert_eq(config_load(path, &cfg, NULL, 0), -1);
}

/* Hostile input: random mixtures of ini fragments and bytes must give 0 or one error line,
 * never a crash (run under ASan with `make SANITIZE=1 unit`). */
Test(config, random_files_never_crash)
{
    static const char *const frags[] = {
        "[raft]\n",
        "[game]\n",
        "[peer1]\n",
        "[peer2]\n",
        "[p",
        "]",
        "host = 127.0.0.1\n",
        "port = 6001\n",
        "port = 6002\n",
        "election_timeout_min = 10\n",
        "heartbeat_interval = 5\n",
        "token = x\n",
        " ",
        "\t",
        "=",
        ";",
        "#",
        "\n",
        "\r\n",
        "\xEF\xBB\xBF",
        "\x01",
        "\xff",
        "log_level = info\n",
        "pre_vote = on\n",
        "snapshot_threshold = 18446744073709551616\n",
    };
    const unsigned seed = 20261122;
    char text[2048];

    srand(seed);
    cr_log_info("seed %u", seed);
    for (int round = 0; round < 2000; round++) {
        size_t len = 0;
        int n = rand() % 40;
        for (int i = 0; i < n; i++) {
            const char *f = frags[rand() % (int)(sizeof(frags) / sizeof(frags[0]))];
            size_t fl = strlen(f);
            if (len + fl >= sizeof(text))
                break;
            memcpy(text + len, f, fl);
            len += fl;
        }
        struct config cfg;
        char err[512];
        const char *path = write_ini_n(text, len);
        if (config_load(path, &cfg, err, sizeof(err)) < 0) {
            cr_assert_null(strchr(err, '\n'), "seed %u round %d: %s", seed, round, err);
            cr_assert(strncmp(err, path, strlen(path)) == 0, "seed %u round %d", seed, round);
        } else {
            cr_assert(cfg.n_peers >= 1 && cfg.n_peers <= CONFIG_MAX_PEERS);
            cr_assert(cfg.heartbeat_interval < cfg.election_timeout_min);
        }
    }
}
