/* options.c: raft_game's command line, kept apart from main() so it can be tested. */
#include "visualization/options.h"

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
    o->after_ms = o->kill_at_ms = o->quit_after_ms = -1;

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
        } else if (v == NULL) {
            snprintf(err, errlen, "%s: unknown option or missing value", a);
            return -1;
        } else if (strcmp(a, "-c") == 0) {
            o->config_path = v;
        } else if (strcmp(a, "-n") == 0) {
            int64_t n;
            if (parse_ms(v, &n) < 0 || n < 1 || n > 9) {
                snprintf(err, errlen, "-n wants a number from 1 to 9, not \"%s\"", v);
                return -1;
            }
            o->n = (int)n;
        } else if (strcmp(a, "--screenshot") == 0) {
            o->screenshot = v;
        } else if (strcmp(a, "--kill") == 0) {
            o->kill_peer = v;
        } else if (strcmp(a, "--after-ms") == 0 || strcmp(a, "--at-ms") == 0 ||
                   strcmp(a, "--quit-after-ms") == 0) {
            int64_t *dst = &o->quit_after_ms;
            if (strcmp(a, "--after-ms") == 0)
                dst = &o->after_ms;
            else if (strcmp(a, "--at-ms") == 0)
                dst = &o->kill_at_ms;
            if (parse_ms(v, dst) < 0) {
                snprintf(err, errlen, "%s wants milliseconds, not \"%s\"", a, v);
                return -1;
            }
        } else {
            snprintf(err, errlen, "%s: unknown option", a);
            return -1;
        }
        if (takes_value)
            i++;
    }
    if (o->screenshot != NULL && o->after_ms < 0) {
        snprintf(err, errlen, "--screenshot needs --after-ms");
        return -1;
    }
    if ((o->kill_peer != NULL) != (o->kill_at_ms >= 0)) {
        snprintf(err, errlen, "--kill and --at-ms go together");
        return -1;
    }
    return 0;
}
