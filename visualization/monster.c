/* monster.c: a small state machine; the game turns its bites into health and deaths. */
#include "visualization/monster.h"

#include <math.h>

#define CYCLE_MS      (MONSTER_DAY_MS + MONSTER_NIGHT_MS)
#define TWILIGHT_MS   4000  /* dusk and dawn fade over this long */
#define REACH         0.16f /* bites from this close, village units */
#define HUNT_PAUSE_MS 6000  /* plus up to as much again, between hunts */

static uint32_t next_rand(struct monster *mo)
{
    /* xorshift32: tiny and deterministic for a given seed. */
    uint32_t x = mo->rng ? mo->rng : 0x9e3779b9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    mo->rng = x;
    return x;
}

static float rand01(struct monster *mo)
{
    return (float)(next_rand(mo) >> 8) / (float)(1u << 24);
}

static uint64_t cycle_pos(uint64_t now_ms)
{
    return (now_ms + MONSTER_START_MS) % CYCLE_MS;
}

bool monster_is_night(uint64_t now_ms)
{
    return cycle_pos(now_ms) >= MONSTER_DAY_MS;
}

uint64_t monster_ms_to_change(uint64_t now_ms)
{
    uint64_t p = cycle_pos(now_ms);
    return p < MONSTER_DAY_MS ? MONSTER_DAY_MS - p : CYCLE_MS - p;
}

float monster_daylight(uint64_t now_ms)
{
    uint64_t p = cycle_pos(now_ms);

    if (p < MONSTER_DAY_MS) {
        /* Dawn at the start of the day, dusk at its end. */
        if (p < TWILIGHT_MS)
            return (float)p / TWILIGHT_MS;
        if (p > MONSTER_DAY_MS - TWILIGHT_MS)
            return (float)(MONSTER_DAY_MS - p) / TWILIGHT_MS;
        return 1.0f;
    }
    return 0.0f;
}

void monster_init(struct monster *mo, uint32_t seed, uint64_t now_ms)
{
    *mo = (struct monster){0};
    mo->rng = seed ? seed : 1;
    mo->x = mo->tx = MONSTER_LAIR_X;
    mo->y = mo->ty = MONSTER_LAIR_Y;
    mo->facing = 1;
    mo->prey = -1;
    mo->last_bite_slot = -1;
    mo->mood = MONSTER_ASLEEP;
    mo->next_hunt_ms = now_ms + 2500;
}

void monster_toggle(struct monster *mo, uint64_t now_ms)
{
    mo->paused = !mo->paused;
    mo->prey = -1;
    if (mo->paused) {
        mo->mood = MONSTER_GOING_HOME;
        mo->tx = MONSTER_LAIR_X;
        mo->ty = MONSTER_LAIR_Y;
    } else {
        mo->mood = MONSTER_ROAMING;
        mo->next_hunt_ms = now_ms + 1500;
    }
}

/* Walks toward (tx,ty); true once there. */
static bool walk(struct monster *mo, float dt_s, float speed)
{
    float dx = mo->tx - mo->x, dy = mo->ty - mo->y;
    float d = sqrtf(dx * dx + dy * dy), step = speed * dt_s;

    if (fabsf(dx) > 0.01f)
        mo->facing = dx < 0 ? -1.0f : 1.0f;
    if (d <= step || d < 1e-4f) {
        mo->x = mo->tx;
        mo->y = mo->ty;
        return true;
    }
    mo->x += dx / d * step;
    mo->y += dy / d * step;
    return false;
}

/* Picks prey among the living: the leader half the time, else anyone. */
static int pick_prey(struct monster *mo, const struct monster_view *v)
{
    int alive[VILLAGE_MAX_PEERS], k = 0;

    for (int i = 0; i < v->n && i < VILLAGE_MAX_PEERS; i++)
        if (v->alive[i])
            alive[k++] = i;
    if (k == 0)
        return -1;
    if (v->leader >= 0 && v->leader < v->n && v->alive[v->leader] && rand01(mo) < 0.5f)
        return v->leader;
    return alive[next_rand(mo) % (uint32_t)k];
}

static void wander_target(struct monster *mo)
{
    /* Somewhere inside the ring, away from the exact centre. */
    float a = rand01(mo) * 2.0f * (float)M_PI, r = 0.25f + 0.6f * rand01(mo);
    mo->tx = cosf(a) * r;
    mo->ty = sinf(a) * r;
}

int monster_step(struct monster *mo, const struct monster_view *v, uint64_t now_ms, float dt_s)
{
    bool night = monster_is_night(now_ms);
    int bitten = -1;

    if (dt_s > 0.25f)
        dt_s = 0.25f; /* after a stall, do not teleport */

    if ((!night || mo->paused) && mo->mood != MONSTER_ASLEEP) {
        mo->mood = MONSTER_GOING_HOME;
        mo->prey = -1;
        mo->tx = MONSTER_LAIR_X;
        mo->ty = MONSTER_LAIR_Y;
    }

    switch (mo->mood) {
    case MONSTER_ASLEEP:
        if (night && !mo->paused) {
            mo->mood = MONSTER_ROAMING;
            mo->next_hunt_ms = now_ms + 2000 + next_rand(mo) % 3000;
            mo->next_wander_ms = now_ms;
        }
        break;
    case MONSTER_GOING_HOME:
        if (walk(mo, dt_s, MONSTER_SPEED * 1.3f)) {
            mo->mood = MONSTER_ASLEEP;
            mo->facing = 1;
        }
        break;
    case MONSTER_ROAMING:
        if (now_ms >= mo->next_wander_ms) {
            wander_target(mo);
            mo->next_wander_ms = now_ms + 2500 + next_rand(mo) % 2500;
        }
        walk(mo, dt_s, MONSTER_SPEED * 0.5f);
        if (now_ms >= mo->next_hunt_ms) {
            mo->prey = pick_prey(mo, v);
            if (mo->prey >= 0)
                mo->mood = MONSTER_HUNTING;
            else
                mo->next_hunt_ms = now_ms + 2000;
        }
        break;
    case MONSTER_HUNTING:
    case MONSTER_ATTACKING:
        if (mo->prey < 0 || mo->prey >= v->n || !v->alive[mo->prey]) {
            /* The prey is gone (killed, or it died some other way): rest, then again. */
            mo->mood = MONSTER_ROAMING;
            mo->prey = -1;
            mo->next_hunt_ms = now_ms + HUNT_PAUSE_MS + next_rand(mo) % HUNT_PAUSE_MS;
            break;
        }
        /* Stand beside the prey, on the side toward the village centre. */
        mo->tx = v->ux[mo->prey] * (1.0f - REACH);
        mo->ty = v->uy[mo->prey] * (1.0f - REACH);
        if (walk(mo, dt_s, MONSTER_SPEED)) {
            if (mo->mood == MONSTER_HUNTING) {
                mo->mood = MONSTER_ATTACKING;
                mo->next_bite_ms = now_ms + MONSTER_BITE_EVERY_MS / 2;
            }
            mo->facing = v->ux[mo->prey] < mo->x ? -1.0f : 1.0f;
            if (now_ms >= mo->next_bite_ms) {
                bitten = mo->prey;
                mo->last_bite_ms = now_ms;
                mo->last_bite_slot = bitten;
                mo->next_bite_ms = now_ms + MONSTER_BITE_EVERY_MS;
            }
        }
        break;
    }
    return bitten;
}
