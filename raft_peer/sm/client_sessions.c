/* client_sessions.c: a fixed-size open-addressing table of session pointers plus
 * a doubly linked list in stamp order, so lookup, touch and eviction are O(1). */
#include "raft_peer/sm/client_sessions.h"

#include <stdlib.h>
#include <string.h>

struct sessions {
    struct session **slots;
    size_t cap; /* a power of two, at least twice max, so probe runs stay short */
    size_t max;
    size_t count;
    struct session *oldest;
    struct session *newest;
};

static uint64_t hash_id(const char *s)
{
    uint64_t h = 14695981039346656037ULL;
    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

struct sessions *sessions_new(size_t max)
{
    if (max == 0 || max > SIZE_MAX / 4 / sizeof(struct session *))
        return NULL;
    struct sessions *ss = calloc(1, sizeof(*ss));
    if (ss == NULL)
        return NULL;
    ss->cap = 1;
    while (ss->cap < max * 2)
        ss->cap *= 2;
    ss->slots = calloc(ss->cap, sizeof(*ss->slots));
    if (ss->slots == NULL) {
        free(ss);
        return NULL;
    }
    ss->max = max;
    return ss;
}

void sessions_free(struct sessions *ss)
{
    if (ss == NULL)
        return;
    struct session *s = ss->oldest;
    while (s != NULL) {
        struct session *next = s->newer;
        free(s);
        s = next;
    }
    free(ss->slots);
    free(ss);
}

/* Slot of client_id, or of the empty slot where it would go. */
static size_t find_slot(const struct sessions *ss, const char *client_id, uint64_t h)
{
    size_t mask = ss->cap - 1;
    size_t i = (size_t)h & mask;
    while (ss->slots[i] != NULL) {
        if (ss->slots[i]->hash == h && strcmp(ss->slots[i]->client_id, client_id) == 0)
            return i;
        i = (i + 1) & mask;
    }
    return i;
}

struct session *sessions_find(const struct sessions *ss, const char *client_id)
{
    return ss->slots[find_slot(ss, client_id, hash_id(client_id))];
}

size_t sessions_count(const struct sessions *ss)
{
    return ss->count;
}

bool sessions_full(const struct sessions *ss)
{
    return ss->count >= ss->max;
}

struct session *session_alloc(const char *client_id)
{
    size_t len = strnlen(client_id, SM_CLIENT_ID_MAX + 1);
    if (len == 0 || len > SM_CLIENT_ID_MAX)
        return NULL;
    struct session *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    memcpy(s->client_id, client_id, len + 1);
    s->hash = hash_id(s->client_id);
    return s;
}

static void list_unlink(struct sessions *ss, struct session *s)
{
    if (s->older != NULL)
        s->older->newer = s->newer;
    else
        ss->oldest = s->newer;
    if (s->newer != NULL)
        s->newer->older = s->older;
    else
        ss->newest = s->older;
    s->older = s->newer = NULL;
}

static void list_append(struct sessions *ss, struct session *s)
{
    s->older = ss->newest;
    s->newer = NULL;
    if (ss->newest != NULL)
        ss->newest->newer = s;
    else
        ss->oldest = s;
    ss->newest = s;
}

/* Empties slot i, shifting back later members of its probe run (no tombstones). */
static void slot_remove(struct sessions *ss, size_t i)
{
    size_t mask = ss->cap - 1;
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (ss->slots[j] == NULL)
            break;
        size_t home = (size_t)ss->slots[j]->hash & mask;
        bool home_in_gap = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!home_in_gap) {
            ss->slots[i] = ss->slots[j];
            i = j;
        }
    }
    ss->slots[i] = NULL;
}

static void evict_oldest(struct sessions *ss)
{
    struct session *victim = ss->oldest;
    slot_remove(ss, find_slot(ss, victim->client_id, victim->hash));
    list_unlink(ss, victim);
    free(victim);
    ss->count--;
}

void sessions_insert(struct sessions *ss, struct session *s, uint64_t index)
{
    if (ss->count >= ss->max)
        evict_oldest(ss);
    ss->slots[find_slot(ss, s->client_id, s->hash)] = s;
    s->last_index = index;
    list_append(ss, s);
    ss->count++;
}

void sessions_touch(struct sessions *ss, struct session *s, uint64_t index)
{
    s->last_index = index;
    if (ss->newest == s)
        return;
    list_unlink(ss, s);
    list_append(ss, s);
}

const struct session *sessions_oldest(const struct sessions *ss)
{
    return ss->oldest;
}
