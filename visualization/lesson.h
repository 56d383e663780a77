/* lesson.h: guided lessons on the live cluster. A lesson is a table of steps; each step
 * waits for a precondition, says what is about to happen, acts on the cluster (or asks the
 * learner to), and checks from the village model, that is from the peers' own stream,
 * that it happened. No SDL here and time is passed in: the game lends its hands
 * (struct lesson_hands) and ticks the lesson every frame. */
#ifndef GAME_LESSON_H
#define GAME_LESSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "visualization/village_model.h"

/* What a step waits for, before its action (pre) or after it (check). Each is a
 * predicate on the model and the lesson's memory; a few also remember what they saw
 * when they hold (see lesson.c). */
enum lesson_check {
    LC_NONE = 0,         /* holds at once */
    LC_CALM,             /* all alive, no cut road, one leader every villager follows;
                            remembers it as "the old leader", its term and last index */
    LC_NEW_LEADER,       /* a leader other than the old one, in a higher term */
    LC_VOTES,            /* a majority voted for the leader in its term */
    LC_LEADER_APPENDED,  /* the leader's log grew past the mark: remembers the entry */
    LC_ENTRY_STORED,     /* a majority of logs hold the entry */
    LC_ENTRY_COMMITTED,  /* the leader and a majority have committed the entry */
    LC_FOLLOWER_DEAD,    /* a villager other than the leader is a grave: the victim */
    LC_OLD_LEADER_DEAD,  /* the old leader is a grave */
    LC_ALL_CAUGHT_UP,    /* every villager alive and holding and committing the entry */
    LC_OLD_FOLLOWS,      /* the old leader alive, a follower of the leader, in its term */
    LC_OLD_ISOLATED,     /* every road of the old leader cut both ways */
    LC_STALE_ENTRY,      /* the old leader holds an entry past the mark it cannot commit */
    LC_MAJORITY_COMMITS, /* a new leader, higher term, committed at the stale index */
    LC_OLD_STEPPED_DOWN, /* the old leader no longer leads */
    LC_HEALED,           /* no road cut */
    LC_LOG_REPAIRED,     /* the old leader lost its stale entry (seen struck out) and
                            now holds the leader's entry there, committed */
    /* Membership (docs/MEMBERSHIP.md). "The configuration" is the village's: its
     * living leader's, the latest in its log, committed or not. */
    LC_SPARE,            /* a peer of the ini in no configuration and not running, to call
                            in (or one already on its way in) */
    LC_JOINER_LEARNER,   /* a peer that was no member when the lesson looked was seen as a
                            learner: in the configuration, in a peer's own, or in the
                            leader's "learner NAME caught up": the joiner */
    LC_JOINER_VOTER,     /* the joiner is a voter of the configuration */
    LC_CONF_COMMITTED,   /* the configuration is committed on the leader, and a majority
                            of its voters use it and know it committed */
    LC_FOLLOWER_REMOVED, /* a voter of the last committed configuration seen, not the
                            leader, is in none now, and that is committed: the one gone */
    LC_CONF_EVERYWHERE,  /* every member uses the configuration and knows it committed,
                            and the one gone has left the village */
    LC_COUNT,
};

/* What the lesson itself does to the cluster, through the game's hands. */
enum lesson_action {
    LA_NONE = 0,
    LA_SUBMIT,           /* the step's command, through the leader */
    LA_ISOLATE_OLD,      /* cut every road of the old leader, both ways */
    LA_ISOLATE_AND_SEND, /* the same, then the step's command sent to the old leader */
    LA_SEND_TO_OLD,      /* the step's command, sent to the old leader first */
    LA_RESTORE,          /* heal every road and revive every grave */
    LA_COUNT,
};

struct lesson_step {
    enum lesson_check pre;
    bool remember; /* once pre holds: remember the leader, its term and last index */
    enum lesson_action action;
    const char *command; /* for LA_SUBMIT and the sending actions */
    bool learner;        /* the learner acts in this step (for the screen and the hooks) */
    /* What happens and why, in plain words; {old} {leader} {victim} {entry} {term}
     * {majority} {n} {joiner} {gone} {conf} {majority0} {n0} are filled in from the
     * lesson's memory. */
    const char *text;
    enum lesson_check check;
    /* Done the moment the check holds, without the reading pause: for what must follow
     * at once (a command to a leader just cut off, before its quorum check steps it
     * down). */
    enum lesson_action then;
    const char *seen;    /* what the passed check saw, same placeholders */
    unsigned timeout_ms; /* 0: LESSON_STEP_TIMEOUT_MS */
};

struct lesson_def {
    const char *name;    /* for --lesson NAME */
    const char *title;   /* for the menu */
    const char *teaches; /* one line for the menu and --lesson list */
    const struct lesson_step *steps;
    int n_steps;
};

/* The table (lessons.c). */
extern const struct lesson_def lesson_table[];
extern const int lesson_count;

/* Index of the lesson called name (or its number, "1".."n"), or -1. */
int lesson_find(const char *name);
/* Writes the list of lessons, one a line, for --lesson list and a wrong name. */
void lesson_print_list(FILE *f);

#define LESSON_STEP_TIMEOUT_MS 45000 /* generous: a loaded machine, a slow learner */
#define LESSON_READ_MS         3000  /* the text stands this long before the lesson acts */
#define LESSON_DWELL_MS        1500  /* a passed check is shown this long */
#define LESSON_TEXT_MAX        640

enum lesson_phase {
    LESSON_IDLE = 0, /* no lesson */
    LESSON_PRE,      /* waiting for the step's precondition */
    LESSON_READING,  /* the text stands before the lesson acts */
    LESSON_WAITING,  /* acted (or the learner's turn): waiting for the check */
    LESSON_PASSED,   /* the check held; the next step follows in a moment */
    LESSON_FAILED,   /* it did not happen in time: t tries again, n skips */
    LESSON_DONE,     /* every step run */
};

enum lesson_result { LESSON_NOT_RUN = 0, LESSON_STEP_PASSED, LESSON_STEP_SKIPPED };

/* The game's hands, lent to the lesson: the same code paths as the player's. */
struct lesson_hands {
    void *ctx;
    void (*say)(void *ctx, const char *text);
    void (*submit)(void *ctx, const char *command, int first_slot);
    void (*cut_off)(void *ctx, int slot);
    void (*heal)(void *ctx);
    void (*revive)(void *ctx, int slot);
};

struct lesson {
    int def; /* index in lesson_table, -1 when none */
    int step;
    enum lesson_phase phase;
    uint64_t step_since, phase_since; /* ms */
    enum lesson_result results[32];
    int passed, skipped, failures; /* failures: times a step ran out of time */
    bool menu_open;
    char text[LESSON_TEXT_MAX];   /* the current step's words, filled in */
    char status[LESSON_TEXT_MAX]; /* what it waits for, or saw */

    /* Memory: what earlier steps saw. Slots are -1 when unknown. */
    int old;                    /* "the old leader": the one in charge when the lesson looked */
    uint64_t term;              /* its term then */
    uint64_t mark;              /* its last index then */
    int leader;                 /* the new leader, once seen */
    int victim;                 /* a follower that died */
    uint64_t entry, entry_term; /* the entry the lesson follows, and its term */
    bool saw_lost;              /* the old leader's log was seen losing the entry */

    /* Membership: configurations as masks of slots (village_model.h). */
    uint16_t members_before; /* voters and learners when the lesson looked */
    uint16_t voters_seen;    /* voters of the last configuration seen committed */
    uint16_t voters_prev;    /* voters before the last change seen: {n0}, {majority0} */
    uint16_t learner_seen;   /* newcomers seen as learners, latched */
    uint64_t feed_seen;      /* feed lines read for "learner NAME caught up" */
    int joiner, gone;        /* the peer that joined, the one that was removed */
    uint64_t conf;           /* the index of the configuration entry last seen: {conf} */
};

void lesson_init(struct lesson *l);
/* Starts lesson def (an index in lesson_table) at its first step. */
void lesson_start(struct lesson *l, int def, const struct village_model *m, uint64_t now_ms,
                  const struct lesson_hands *h);
void lesson_stop(struct lesson *l, const struct lesson_hands *h);
/* Advances the lesson: checks, actions, timeouts. */
void lesson_tick(struct lesson *l, const struct village_model *m, uint64_t now_ms,
                 const struct lesson_hands *h);
/* The learner's 't' (try the step again) and 'n' (skip it; or go on now, while the
 * words stand before the lesson acts or after a check passed). */
void lesson_retry(struct lesson *l, uint64_t now_ms, const struct lesson_hands *h);
void lesson_skip(struct lesson *l, const struct village_model *m, uint64_t now_ms,
                 const struct lesson_hands *h);
/* The picture was paused for ms: the lesson's clocks stand still with it. */
void lesson_hold(struct lesson *l, uint64_t ms);

bool lesson_running(const struct lesson *l);
/* The learner's turn at step (1-based) for at least after_ms: for the test hooks. */
bool lesson_waits_at(const struct lesson *l, int step, uint64_t after_ms, uint64_t now_ms);
const char *lesson_phase_name(enum lesson_phase p);

/* The lesson as a new json-c object for --dump-state, or NULL when none ran. */
struct json_object *lesson_to_json(const struct lesson *l);

#endif /* GAME_LESSON_H */
