/* options.h: raft_game's command line. */
#ifndef GAME_OPTIONS_H
#define GAME_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GAME_USAGE                                                                                 \
    "usage: raft_game [-c FILE] [-n N] [--demo] [--no-monster] [--record FILE]\n"                  \
    "       raft_game --replay FILE [-n N] [--seek MS] [--speed X] [--paused]\n"                   \
    "       (both take [--screenshot FILE --after-ms MS] [--dump-state] [--quit-after-ms MS]\n"    \
    "        [--keys KEY@MS,...] [--click X,Y@MS]... [--type TEXT@MS]...;\n"                       \
    "        live only: [--kill PEER --at-ms MS] [--lesson NAME])\n"                               \
    "  -c FILE            cluster configuration (default raft_peer.ini)\n"                         \
    "  -n N               villagers to show, 1..9 (default: the largest n the peers send,\n"       \
    "                     else the number of peers in FILE)\n"                                     \
    "  --demo             no real peers: a built-in make-believe cluster feeds the village\n"      \
    "  --no-monster       start with the monster stopped (s lets it loose)\n"                      \
    "  --record FILE      save every datagram received, with its time, to FILE\n"                  \
    "  --replay FILE      play a recording back, with no peer and no socket\n"                     \
    "  --seek MS          start the replay at MS ms into the recording\n"                          \
    "  --speed X          replay speed: 0.25, 0.5, 1, 2, 4 or 8 (default 1)\n"                     \
    "  --paused           start the replay paused\n"                                               \
    "  --screenshot FILE  save the window as a BMP after --after-ms MS, then exit 0\n"             \
    "  --after-ms MS      when to take the screenshot (and --dump-state once), then exit\n"        \
    "  --lesson NAME      start a guided lesson on the live cluster (--lesson list: the\n"         \
    "                     lessons); with --quit-after-ms, the game exits once it is over\n"        \
    "  --dump-state       print the model as JSON lines on stdout, every second\n"                 \
    "                     (or once, at exit, with --after-ms)\n"                                   \
    "  --kill PEER        test hook: kill villager PEER (or \"leader\") at --at-ms MS,\n"          \
    "                     through the same path as a click\n"                                      \
    "  --quit-after-ms MS exit 0 after MS milliseconds\n"                                          \
    "  --keys KEY@MS,...  test hook: press each key at its time (SDL key names: Space,\n"          \
    "                     Right, Left, Home, [, ], ...)\n"                                         \
    "  --click X,Y@MS     test hook: a left click at pixel X,Y at MS; \"road:A-B@MS\" clicks\n"    \
    "                     the road between villagers A and B, \"villager:NAME@MS\" a villager\n"   \
    "                     (or the leader, a follower, a grave); \"right:\" before it a right\n"    \
    "                     click; \"delay:MS@MS\" the slow-wires slider where it means MS,\n"       \
    "                     \"pace:+@MS\", \"pace:-@MS\", \"failover@MS\" its buttons "              \
    "(repeatable,\n"                                                                               \
    "                     at most 16). Any hook's @MS may be @step:N+MS: MS after the\n"           \
    "                     lesson's step N began to wait for the learner\n"                         \
    "  --type TEXT@MS     test hook: TEXT typed at MS, as the keyboard types (repeatable)\n"       \
    "  -h, --help         this help\n"                                                             \
    "keys in the game: c type a command, r a random command, h heal every road,\n"                 \
    "  l lessons (then t try a step again, n skip it), a add the next peer of the ini,\n"          \
    "  x then a click on a villager: remove it from the configuration,\n"                          \
    "  - + the pace (timeouts and heartbeats slower or faster), f fast failover,\n"                \
    "  ? or F1 help, s stop/resume the monster, space pause, q/Esc quit; click a road\n"           \
    "  (the line between two villagers) to cut it or open it again; in a replay also:\n"           \
    "  right arrow or . next event, left arrow 5 s back, [ ] or - + speed, Home restart\n"

#define GAME_MAX_CLICKS 16

struct game_options {
    const char *config_path; /* never NULL */
    int n;                   /* 0 = not given */
    bool demo;
    bool no_monster;
    const char *screenshot; /* NULL = none */
    int64_t after_ms;       /* -1 = not given */
    bool dump_state;
    const char *kill_peer;   /* NULL = none */
    int64_t kill_at_ms;      /* -1 = not given */
    int64_t quit_after_ms;   /* -1 = not given */
    const char *record_path; /* NULL = none */
    const char *replay_path; /* NULL = live */
    int64_t seek_ms;         /* -1 = not given */
    double speed;            /* replay speed, 1.0 unless given */
    bool start_paused;
    const char *keys; /* --keys "KEY@MS,...": test hook, NULL = none */
    /* --click "X,Y@MS" or "road:A-B@MS", repeatable: test hook, a left click there */
    const char *clicks[GAME_MAX_CLICKS];
    int n_clicks;
    /* --type "TEXT@MS", repeatable: test hook, TEXT typed (as SDL_TEXTINPUT) at MS */
    const char *types[GAME_MAX_CLICKS];
    int n_types;
    const char *lesson; /* --lesson NAME, NULL = none; "list" lists them */
};

/* Parses argv. Returns 0 to run, 1 when help was asked for, -1 on a bad usage (the reason
 * in err). */
int game_options_parse(int argc, char **argv, struct game_options *o, char *err, size_t errlen);

/* A replay speed: "0.25", "0.5", "1", "2", "4" or "8" (an "x" after it is allowed), or
 * -1. */
double game_speed_parse(const char *s);
/* The speed one step faster (dir 1) or slower (dir -1) than speed, within 0.25..8. */
double game_speed_next(double speed, int dir);

#endif /* GAME_OPTIONS_H */
