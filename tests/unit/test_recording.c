/* test_recording.c: the game's recordings (visualization/recording.c): the line parser
 * on good, malformed, overlong and out-of-order lines, the writer and the loader round
 * trip, and the player: datagrams at their times, graves in a silence, stepping to the
 * next event, and seeking back to the very same model. */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "visualization/options.h"
#include "visualization/recording.h"

static uint64_t ms;
static size_t off, dlen;
static char err[256];

static int parse(const char *line)
{
    return recording_parse_line(line, strlen(line), &ms, &off, &dlen, err, sizeof err);
}

Test(recording_line, a_datagram_line)
{
    const char *l = "1532 {\"type\":\"event\"}";
    cr_assert_eq(parse(l), 1);
    cr_assert_eq(ms, 1532);
    cr_assert_eq(off, 5);
    cr_assert_eq(dlen, strlen("{\"type\":\"event\"}"));
    cr_assert_eq(parse("0007 x\r"), 1, "leading zeros and a CR are fine");
    cr_assert_eq(ms, 7);
    cr_assert_eq(dlen, 1);
    cr_assert_eq(parse("0 {}"), 1);
    cr_assert_eq(ms, 0);
}

Test(recording_line, comments_and_empty_lines)
{
    cr_assert_eq(parse(""), 0);
    cr_assert_eq(parse("\r"), 0);
    cr_assert_eq(parse("# raft_game recording 1"), 0);
    cr_assert_eq(parse("#"), 0);
}

Test(recording_line, malformed_lines_are_refused_with_a_reason)
{
    static const char *const bad[] = {
        "{\"type\":\"state\"}",    /* no time */
        " 12 {}",                  /* a space first */
        "-5 {}",                   /* negative */
        "12{}",                    /* no space */
        "12\t{}",                  /* a tab is not the separator */
        "12",                      /* nothing after the time */
        "12 ",                     /* an empty datagram */
        "12345678901 {}",          /* eleven digits */
        "99999999999999999999 {}", /* would overflow */
        "1e3 {}",
        "abc def",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        cr_assert_eq(parse(bad[i]), -1, "accepted \"%s\"", bad[i]);
        cr_assert_neq(err[0], '\0', "no reason for \"%s\"", bad[i]);
    }
    cr_assert_eq(parse("9999999999 {}"), 1, "ten digits are the most");
    cr_assert_eq(ms, 9999999999ULL);
}

Test(recording_line, a_nul_byte_is_refused)
{
    const char l[] = "12 {\"a\0\"}";
    cr_assert_eq(recording_parse_line(l, sizeof l - 1, &ms, &off, &dlen, err, sizeof err), -1);
}

Test(recording_line, overlong_lines_and_datagrams_are_refused)
{
    size_t n = RECORDING_LINE_MAX + 100;
    char *l = malloc(n + 1);

    cr_assert_not_null(l);
    memset(l, 'x', n);
    memcpy(l, "12 ", 3);
    l[n] = '\0';
    cr_assert_eq(parse(l), -1);
    cr_assert_not_null(strstr(err, "line"), "%s", err);
    /* A datagram one byte over the stream's limit, on a line that is not too long. */
    l[3 + VILLAGE_DATAGRAM_MAX + 1] = '\0';
    cr_assert_eq(parse(l), -1);
    cr_assert_not_null(strstr(err, "datagram"), "%s", err);
    l[3 + VILLAGE_DATAGRAM_MAX] = '\0';
    cr_assert_eq(parse(l), 1, "exactly the limit is fine");
    cr_assert_eq(dlen, VILLAGE_DATAGRAM_MAX);
    free(l);
}

/* --- a whole file ------------------------------------------------------------------------ */

static struct recording rec;

static void index_text(const char *text)
{
    size_t n = strlen(text);
    char *data = malloc(n + 1);

    cr_assert_not_null(data);
    memcpy(data, text, n + 1);
    memset(&rec, 0, sizeof rec);
    cr_assert_eq(recording_index(&rec, data, n), 0);
}

static void free_rec(void)
{
    recording_free(&rec);
}

static const char *datagram(size_t i)
{
    static char buf[VILLAGE_DATAGRAM_MAX + 1];
    size_t n = rec.e[i].len < sizeof buf - 1 ? rec.e[i].len : sizeof buf - 1;
    memcpy(buf, rec.data + rec.e[i].off, n);
    buf[n] = '\0';
    return buf;
}

Test(recording_file, bad_lines_are_skipped_and_counted, .fini = free_rec)
{
    index_text("# raft_game recording 1\n"
               "# peers alpha beta gamma\n"
               "10 {\"a\":1}\n"
               "garbage\n"
               "\n"
               "20 {\"b\":2}\r\n"
               "30\n"
               "40 {\"c\":3}\n"
               "# end 55\n");
    cr_assert_eq(rec.n, 3);
    cr_assert_eq(rec.n_malformed, 2);
    cr_assert_str_eq(rec.first_error, "line 4: no time in milliseconds at the start");
    cr_assert_str_eq(datagram(0), "{\"a\":1}");
    cr_assert_str_eq(datagram(1), "{\"b\":2}", "the CR is not part of the datagram");
    cr_assert_eq(rec.e[2].ms, 40);
    cr_assert_eq(rec.n_peers, 3);
    cr_assert_str_eq(rec.peers[1], "beta");
    cr_assert_eq(rec.end_ms, 55);
    cr_assert_eq(recording_length_ms(&rec), 55);
}

Test(recording_file, out_of_order_times_keep_their_place, .fini = free_rec)
{
    index_text("100 {\"a\":1}\n"
               "90 {\"b\":2}\n"
               "200 {\"c\":3}\n"
               "5 {\"d\":4}\n");
    cr_assert_eq(rec.n, 4);
    cr_assert_eq(rec.n_reordered, 2);
    cr_assert_eq(rec.e[1].ms, 100, "played at the time of the line before");
    cr_assert_eq(rec.e[3].ms, 200);
    cr_assert_str_eq(datagram(3), "{\"d\":4}");
    cr_assert_eq(recording_length_ms(&rec), 200, "no # end: the last datagram's time");
}

Test(recording_file, an_overlong_line_does_not_hide_the_next_one, .fini = free_rec)
{
    size_t n = RECORDING_LINE_MAX * 3;
    char *text = malloc(n + 64);

    cr_assert_not_null(text);
    strcpy(text, "1 ");
    memset(text + 2, '{', n);
    strcpy(text + 2 + n, "\n2 {\"ok\":1}\n");
    index_text(text);
    free(text);
    cr_assert_eq(rec.n, 1);
    cr_assert_eq(rec.n_malformed, 1);
    cr_assert_str_eq(datagram(0), "{\"ok\":1}");
}

Test(recording_file, a_line_cut_short_at_the_end_is_skipped, .fini = free_rec)
{
    index_text("1 {\"a\":1}\n2 {\"type\":\"sta");
    cr_assert_eq(rec.n, 1);
    cr_assert_eq(rec.n_malformed, 1);
    cr_assert_not_null(strstr(rec.first_error, "cut short"), "%s", rec.first_error);
}

Test(recording_file, hostile_peer_and_end_comments_are_harmless, .fini = free_rec)
{
    char text[2048];
    char longname[100];

    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    snprintf(text, sizeof text,
             "# peers a b c d e f g h i j k l m\n# peers late\n# end 99999999999999\n"
             "# end 12x\n# peers %s ok\n1 {}\n",
             longname);
    index_text(text);
    cr_assert_eq(rec.n_peers, VILLAGE_MAX_PEERS, "at most nine names");
    cr_assert_str_eq(rec.peers[0], "a");
    cr_assert_eq(rec.end_ms, 0, "an end time too large or not a number is ignored");
    cr_assert_eq(rec.n, 1);
}

Test(recording_file, random_bytes_never_crash, .fini = free_rec)
{
    unsigned seed = 42;
    size_t n = 200000;
    char *data = malloc(n + 1);

    cr_assert_not_null(data);
    for (size_t i = 0; i < n; i++) {
        int r = rand_r(&seed) % 16;
        data[i] = r == 0   ? '\n'
                  : r < 4  ? (char)('0' + rand_r(&seed) % 10)
                  : r == 4 ? ' '
                           : (char)rand_r(&seed);
    }
    data[n] = '\0';
    memset(&rec, 0, sizeof rec);
    cr_assert_eq(recording_index(&rec, data, n), 0);
    cr_assert_gt(rec.n_malformed + rec.n, 0);
    for (size_t i = 0; i < rec.n; i++) {
        cr_assert_leq(rec.e[i].off + rec.e[i].len, rec.size);
        cr_assert_leq(rec.e[i].len, VILLAGE_DATAGRAM_MAX);
        if (i > 0)
            cr_assert_geq(rec.e[i].ms, rec.e[i - 1].ms);
    }
}

/* --- writing and reading back -------------------------------------------------------- */

Test(recording_file, what_the_recorder_writes_the_loader_reads, .fini = free_rec)
{
    char path[] = "/tmp/raft-rec-XXXXXX";
    int fd = mkstemp(path);
    struct recorder w;
    const char *peers[] = {"peer1", "peer2"};
    char big[VILLAGE_DATAGRAM_MAX + 2];
    const char with_nul[] = "{\"a\":\0}";

    cr_assert_geq(fd, 0);
    close(fd);
    cr_assert_eq(recorder_open(&w, path, peers, 2, err, sizeof err), 0, "%s", err);
    cr_assert_eq(recorder_write(&w, 5, "{\"x\":1}", 7), 0);
    cr_assert_eq(recorder_write(&w, 7, "{\"y\":\n2}\r", 9), 0, "a newline inside is kept as space");
    cr_assert_eq(recorder_write(&w, 8, with_nul, sizeof with_nul - 1), -1);
    memset(big, 'x', sizeof big);
    cr_assert_eq(recorder_write(&w, 9, big, sizeof big), -1, "oversized");
    cr_assert_eq(recorder_write(&w, 10, "{}", 2), 0);
    recorder_tick(&w, 1000);
    cr_assert_eq(w.n_lines, 3);
    cr_assert_eq(w.n_skipped, 2);
    cr_assert_eq(recorder_close(&w, 1234), 0);

    cr_assert_eq(recording_load(&rec, path, err, sizeof err), 0, "%s", err);
    unlink(path);
    cr_assert_eq(rec.n, 3);
    cr_assert_eq(rec.n_malformed, 0, "%s", rec.first_error);
    cr_assert_str_eq(datagram(1), "{\"y\": 2} ");
    cr_assert_eq(rec.e[2].ms, 10);
    cr_assert_eq(rec.n_peers, 2);
    cr_assert_str_eq(rec.peers[1], "peer2");
    cr_assert_eq(recording_length_ms(&rec), 1234);
}

Test(recording_file, a_bad_path_is_an_error)
{
    struct recorder w;
    struct recording r;

    cr_assert_eq(recorder_open(&w, "/nonexistent-dir/x.rec", NULL, 0, err, sizeof err), -1);
    cr_assert_not_null(strstr(err, "/nonexistent-dir/x.rec"), "%s", err);
    cr_assert_eq(recording_load(&r, "/nonexistent-dir/x.rec", err, sizeof err), -1);
    cr_assert_eq(recording_load(&r, "/tmp", err, sizeof err), -1, "a directory");
}

/* --- the player ------------------------------------------------------------------------ */

static struct village_model m;
static struct replay player;

static void add_state(const char *peer, int id, const char *role, int term, uint64_t at)
{
    char buf[512];
    int n = snprintf(buf, sizeof buf,
                     "{\"type\":\"state\",\"peer\":\"%s\",\"id\":%d,\"n\":3,\"pid\":%d,"
                     "\"role\":\"%s\",\"term\":%d,\"voted_for\":null,\"leader\":null}",
                     peer, id, 100 + id, role, term);
    cr_assert_eq(recording_append(&rec, at, buf, (size_t)n), 0);
}

static void add_event(const char *peer, const char *text, uint64_t at)
{
    char buf[512];
    int n = snprintf(buf, sizeof buf,
                     "{\"type\":\"event\",\"peer\":\"%s\",\"term\":1,\"text\":\"%s\"}", peer, text);
    cr_assert_eq(recording_append(&rec, at, buf, (size_t)n), 0);
}

/* Three peers: heartbeats every 50 ms for 2 s; peer1 leads from 500 ms; peer3 falls
 * silent at 1000 ms. */
static void story(void)
{
    memset(&rec, 0, sizeof rec);
    for (uint64_t t = 0; t <= 2000; t += 50) {
        add_state("peer1", 1, t >= 500 ? "leader" : "follower", t >= 500 ? 1 : 0, t);
        add_state("peer2", 2, "follower", t >= 500 ? 1 : 0, t);
        if (t < 1000)
            add_state("peer3", 3, "follower", t >= 500 ? 1 : 0, t);
        if (t == 500)
            add_event("peer1", "won the election", t);
    }
    village_model_init(&m);
    replay_start(&player, &rec, &m, 0);
}

static char *dump(void)
{
    struct json_object *o = village_model_to_json(&m, player.t);
    char *s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    return s;
}

Test(replay, datagrams_arrive_at_their_time, .init = story, .fini = free_rec)
{
    replay_advance(&player, &m, 499);
    cr_assert_eq(village_model_leader(&m), -1);
    cr_assert_eq(m.n, 3);
    replay_advance(&player, &m, 500);
    cr_assert_eq(village_model_leader(&m), 0);
    cr_assert_eq(m.peers[0].term, 1);
    cr_assert_eq(m.n_rejected, 0);
    replay_advance(&player, &m, 100);
    cr_assert_eq(player.t, 500, "advance never goes back");
}

Test(replay, a_silent_peer_becomes_a_grave_on_time, .init = story, .fini = free_rec)
{
    replay_advance(&player, &m, 950 + VILLAGE_STALE_MS - 20);
    cr_assert_eq(m.peers[2].life, VILLAGE_ALIVE);
    replay_advance(&player, &m, 950 + VILLAGE_STALE_MS + 20);
    cr_assert_eq(m.peers[2].life, VILLAGE_GRAVE);
    cr_assert(replay_at_end(&player));
}

Test(replay, seeking_back_rebuilds_the_same_model, .init = story, .fini = free_rec)
{
    char *direct, *again;

    replay_advance(&player, &m, 1200);
    direct = dump();
    replay_advance(&player, &m, 2000);
    replay_seek(&player, &m, 1200);
    again = dump();
    cr_assert_str_eq(again, direct);
    replay_seek(&player, &m, 0);
    cr_assert_eq(village_model_leader(&m), -1);
    free(direct);
    free(again);
}

Test(replay, a_step_stops_at_the_next_line_of_news, .init = story, .fini = free_rec)
{
    /* The first step: the three peers join the village (feed lines at 0 ms). */
    cr_assert(replay_step(&player, &m));
    cr_assert_eq(player.t, 0);
    cr_assert(replay_step(&player, &m));
    cr_assert_eq(player.t, 500, "the election's event line");
    cr_assert_str_eq(village_model_feed_line(&m, m.n_feed - 1)->text, "won the election");
    /* Next: nothing is said until the recording ends (peer3's grave comes after it). */
    cr_assert_not(replay_step(&player, &m));
    cr_assert(replay_at_end(&player));
}

Test(replay, a_long_silence_is_crossed_quickly, .fini = free_rec)
{
    memset(&rec, 0, sizeof rec);
    add_state("peer1", 1, "leader", 1, 0);
    add_state("peer1", 1, "leader", 1, 9000000000ULL); /* 104 days later */
    village_model_init(&m);
    replay_start(&player, &rec, &m, 0);
    replay_advance(&player, &m, 9000000000ULL);
    cr_assert_eq(m.peers[0].life, VILLAGE_ALIVE, "it rose again");
    cr_assert_eq(player.t, 9000000000ULL);
}

/* --- the command line ------------------------------------------------------------------ */

static int opts(struct game_options *o, int argc, const char **argv)
{
    return game_options_parse(argc, (char **)argv, o, err, sizeof err);
}

Test(recording_options, record_and_replay)
{
    struct game_options o;
    const char *rec_args[] = {"raft_game", "--record", "x.rec", "-c", "a.ini"};
    const char *rep_args[] = {"raft_game", "--replay", "x.rec", "--seek",
                              "4000",      "--speed",  "2x",    "--paused"};
    const char *bad1[] = {"raft_game", "--replay", "x.rec", "--demo"};
    const char *bad2[] = {"raft_game", "--seek", "10"};
    const char *bad3[] = {"raft_game", "--replay", "x.rec", "--speed", "3"};
    const char *bad4[] = {"raft_game", "--record", "a", "--replay", "b"};
    const char *bad5[] = {"raft_game", "--record"};
    const char *bad6[] = {"raft_game", "--keys", "Space"};

    cr_assert_eq(opts(&o, 5, rec_args), 0, "%s", err);
    cr_assert_str_eq(o.record_path, "x.rec");
    cr_assert_null(o.replay_path);
    cr_assert_eq(opts(&o, 8, rep_args), 0, "%s", err);
    cr_assert_str_eq(o.replay_path, "x.rec");
    cr_assert_eq(o.seek_ms, 4000);
    cr_assert_float_eq(o.speed, 2.0, 1e-9);
    cr_assert(o.start_paused);
    cr_assert_eq(opts(&o, 4, bad1), -1);
    cr_assert_eq(opts(&o, 3, bad2), -1);
    cr_assert_eq(opts(&o, 5, bad3), -1);
    cr_assert_eq(opts(&o, 5, bad4), -1);
    cr_assert_eq(opts(&o, 2, bad5), -1);
    cr_assert_eq(opts(&o, 3, bad6), -1, "a key without its time");
}

Test(recording_options, speeds_step_within_bounds)
{
    cr_assert_float_eq(game_speed_parse("0.25"), 0.25, 1e-9);
    cr_assert_float_eq(game_speed_parse("8x"), 8, 1e-9);
    cr_assert_lt(game_speed_parse("x"), 0);
    cr_assert_lt(game_speed_parse(""), 0);
    cr_assert_lt(game_speed_parse("16"), 0);
    cr_assert_float_eq(game_speed_next(1, 1), 2, 1e-9);
    cr_assert_float_eq(game_speed_next(8, 1), 8, 1e-9);
    cr_assert_float_eq(game_speed_next(0.25, -1), 0.25, 1e-9);
    cr_assert_float_eq(game_speed_next(0.5, -1), 0.25, 1e-9);
}

Test(replay, a_kill_by_the_game_is_a_grave_at_once, .fini = free_rec)
{
    index_text("# peers peer1 peer2\n"
               "0 {\"type\":\"state\",\"peer\":\"peer1\",\"id\":1,\"n\":2,\"role\":\"leader\","
               "\"term\":2}\n"
               "0 {\"type\":\"state\",\"peer\":\"peer2\",\"id\":2,\"n\":2,\"role\":\"follower\","
               "\"term\":2}\n"
               "# kill 100 peer2\n"
               "# kill 100 nobody\n"
               "# kill 1x0 peer1\n"
               "# kill 100 peer1 extra\n"
               "# revive 300 peer2\r\n"
               "# end 400\n");
    cr_assert_eq(rec.n, 5, "two states, two kills (one of nobody) and one revival");
    cr_assert_eq(rec.e[2].kind, RECORDING_KILL);
    cr_assert_eq(rec.e[3].kind, RECORDING_KILL);
    cr_assert_eq(rec.e[4].kind, RECORDING_REVIVE);
    cr_assert_eq(rec.n_malformed, 0);
    village_model_init(&m);
    cr_assert_eq(village_model_add_peer(&m, 1, "peer1"), 0);
    cr_assert_eq(village_model_add_peer(&m, 2, "peer2"), 0);
    replay_start(&player, &rec, &m, 0);
    replay_advance(&player, &m, 99);
    cr_assert_eq(m.peers[1].life, VILLAGE_ALIVE);
    replay_advance(&player, &m, 100);
    cr_assert_eq(m.peers[1].life, VILLAGE_GRAVE, "not 1.5 s later: at the kill");
    cr_assert_eq(m.peers[0].life, VILLAGE_ALIVE);
    replay_advance(&player, &m, 300);
    cr_assert(m.peers[1].reviving);
}
