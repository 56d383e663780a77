/* monster.h: the monster that roams the village by night and bites villagers, and the
 * day and night cycle it lives by. Pure logic in village coordinates (the ring has
 * radius 1 around 0,0); no SDL, time passed in. */
#ifndef GAME_MONSTER_H
#define GAME_MONSTER_H

#include <stdbool.h>
#include <stdint.h>

#include "visualization/village_model.h"

#define MONSTER_DAY_MS        30000 /* daylight: the monster sleeps in its lair */
#define MONSTER_NIGHT_MS      30000 /* night: it hunts */
#define MONSTER_START_MS      8000  /* the game opens in the morning: dusk after 22 s */
#define MONSTER_BITE_DAMAGE   25.0f /* of a villager's 100 health: four bites kill */
#define MONSTER_BITE_EVERY_MS 800
#define MONSTER_SPEED         0.42f /* village units per second */

enum monster_mood {
    MONSTER_ASLEEP = 0, /* in the lair, by day or when stopped with 's' */
    MONSTER_ROAMING,    /* wandering between hunts */
    MONSTER_HUNTING,    /* walking to its prey */
    MONSTER_ATTACKING,  /* next to its prey, biting */
    MONSTER_GOING_HOME, /* dawn, or stopped: back to the lair */
};

struct monster {
    float x, y;   /* where it is */
    float tx, ty; /* where it walks */
    float facing; /* -1 left, +1 right, for drawing */
    enum monster_mood mood;
    int prey;    /* slot hunted, -1 for none */
    bool paused; /* stopped with 's' */
    uint64_t next_hunt_ms;
    uint64_t next_bite_ms;
    uint64_t next_wander_ms;
    uint64_t last_bite_ms; /* for the bite flash */
    int last_bite_slot;
    uint32_t rng; /* the game's own PRNG: seeded, so a run can be replayed */
};

/* What the monster can see of the village. */
struct monster_view {
    int n;
    float ux[VILLAGE_MAX_PEERS], uy[VILLAGE_MAX_PEERS]; /* villagers, village units */
    bool alive[VILLAGE_MAX_PEERS];
    int leader; /* slot, or -1: the monster has a taste for leaders */
};

/* Where the lair is, village units. */
#define MONSTER_LAIR_X -1.30f
#define MONSTER_LAIR_Y 1.02f

void monster_init(struct monster *mo, uint32_t seed, uint64_t now_ms);

/* Moves the monster dt_s seconds on. Returns the slot it bit this step, or -1. */
int monster_step(struct monster *mo, const struct monster_view *v, uint64_t now_ms, float dt_s);

/* 's': stops (it goes home to sleep) or resumes. */
void monster_toggle(struct monster *mo, uint64_t now_ms);

/* 1.0 at noon, 0.0 at midnight, with a dusk and a dawn in between. */
float monster_daylight(uint64_t now_ms);
bool monster_is_night(uint64_t now_ms);
/* Milliseconds until the next dusk or dawn. */
uint64_t monster_ms_to_change(uint64_t now_ms);

#endif /* GAME_MONSTER_H */
