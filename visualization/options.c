/* options.c: raft_game's command line, kept apart from main() so it can be tested. */
#include "visualization/options.h"
#include "common/error_message.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A day, in milliseconds: long enough for any test or demo, short enough to add safely. */
#define MAX_MS 86400000LL

static int parse_ms(const char *s, int64_t *out)
{
    char *end;
    long long v;

    if (s == NULL || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < 0 || v > MAX_MS)
        return -1;
    *out = v;
    return 0;
}

int game_options_parse(int argc, char **argv, struct game_options *o, char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    o->config_path = "raft_peer.ini";
    o->after_ms = o->kill_at_ms = o->quit_after_ms = o->seek_ms = -1;
    o->speed = 1.0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes_value = true;

        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
            return 1;
        if (strcmp(a, "--demo") == 0) {
            o->demo = true;
            takes_value = false;
        } else if (strcmp(a, "--no-monster") == 0) {
            o->no_monster = true;
            takes_value = false;
        } else if (strcmp(a, "--dump-state") == 0) {
            o->dump_state = true;
            takes_value = false;
        } else if (strcmp(a, "--paused") == 0) {
            o->start_paused = true;
            takes_value = false;
        } else if (v == NULL) {
            set_err(err, errlen, "%s: unknown option or missing value", a);
            return -1;
        } else if (strcmp(a, "-c") == 0) {
            o->config_path = v;
        } else if (strcmp(a, "-n") == 0) {
            int64_t n;
            if (parse_ms(v, &n) < 0 || n < 1 || n > 9) {
                set_err(err, errlen, "-n wants a number from 1 to 9, not \"%s\"", v);
                return -1;
            }
            o->n = (int)n;
        } else if (strcmp(a, "--screenshot") == 0) {
            o->screenshot = v;
        } else if (strcmp(a, "--kill") == 0) {
            o->kill_peer = v;
        } else if (strcmp(a, "--keys") == 0) {
            if (strchr(v, '@') == NULL) {
                set_err(err, errlen, "--keys wants KEY@MS,..., not \"%s\"", v);
                return -1;
            }
            o->keys = v;
        } else if (strcmp(a, "--click") == 0 || strcmp(a, "--type") == 0) {
            bool click = strcmp(a, "--click") == 0;
            int *n = click ? &o->n_clicks : &o->n_types;
            if (strrchr(v, '@') == NULL || *n == GAME_MAX_CLICKS) {
                set_err(err, errlen, "%s wants %s@MS (at most %d times), not \"%s\"", a,
                        click ? "X,Y or road:A-B" : "TEXT", GAME_MAX_CLICKS, v);
                return -1;
            }
            if (click)
                o->clicks[(*n)++] = v;
            else
                o->types[(*n)++] = v;
        } else if (strcmp(a, "--lesson") == 0) {
            o->lesson = v;
        } else if (strcmp(a, "--record") == 0) {
            o->record_path = v;
        } else if (strcmp(a, "--replay") == 0) {
            o->replay_path = v;
        } else if (strcmp(a, "--speed") == 0) {
            o->speed = game_speed_parse(v);
            if (o->speed <= 0) {
                set_err(err, errlen, "--speed wants one of 0.25 0.5 1 2 4 8, not \"%s\"", v);
                return -1;
            }
        } else if (strcmp(a, "--after-ms") == 0 || strcmp(a, "--at-ms") == 0 ||
                   strcmp(a, "--quit-after-ms") == 0 || strcmp(a, "--seek") == 0) {
            int64_t *dst = &o->quit_after_ms;
            if (strcmp(a, "--after-ms") == 0)
                dst = &o->after_ms;
            else if (strcmp(a, "--at-ms") == 0)
                dst = &o->kill_at_ms;
            else if (strcmp(a, "--seek") == 0)
                dst = &o->seek_ms;
            if (parse_ms(v, dst) < 0) {
                set_err(err, errlen, "%s wants milliseconds, not \"%s\"", a, v);
                return -1;
            }
        } else {
            set_err(err, errlen, "%s: unknown option", a);
            return -1;
        }
        if (takes_value)
            i++;
    }
    if (o->screenshot != NULL && o->after_ms < 0) {
        set_err(err, errlen, "--screenshot needs --after-ms");
        return -1;
    }
    if ((o->kill_peer != NULL) != (o->kill_at_ms >= 0)) {
        set_err(err, errlen, "--kill and --at-ms go together");
        return -1;
    }
    if (o->replay_path != NULL && (o->demo || o->record_path || o->kill_peer)) {
        set_err(err, errlen, "--replay plays a file: it does not go with %s",
                o->demo          ? "--demo"
                : o->record_path ? "--record"
                                 : "--kill");
        return -1;
    }
    if (o->lesson != NULL && (o->replay_path || o->demo)) {
        set_err(err, errlen, "--lesson runs on a live cluster: not with %s",
                o->demo ? "--demo" : "--replay");
        return -1;
    }
    if (o->replay_path == NULL && (o->seek_ms >= 0 || o->start_paused || o->speed != 1.0)) {
        set_err(err, errlen, "--seek, --speed and --paused need --replay FILE");
        return -1;
    }
    if ((o->record_path && o->record_path[0] == '\0') ||
        (o->replay_path && o->replay_path[0] == '\0')) {
        set_err(err, errlen, "--record and --replay want a file name");
        return -1;
    }
    return 0;
}

static const double speeds[] = {0.25, 0.5, 1, 2, 4, 8};
#define N_SPEEDS (int)(sizeof speeds / sizeof speeds[0])

double game_speed_parse(const char *s)
{
    static const char *const names[] = {"0.25", "0.5", "1", "2", "4", "8"};
    char buf[8];
    size_t n = strlen(s);

    if (n > 0 && s[n - 1] == 'x')
        n--;
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    for (int i = 0; i < N_SPEEDS; i++)
        if (strcmp(buf, names[i]) == 0)
            return speeds[i];
    return -1;
}

double game_speed_next(double speed, int dir)
{
    int i = 0;

    while (i < N_SPEEDS - 1 && speeds[i] < speed)
        i++;
    i += dir;
    if (i < 0)
        i = 0;
    if (i >= N_SPEEDS)
        i = N_SPEEDS - 1;
    return speeds[i];
}
