/* kv_store.c: open addressing with linear probing; deletion shifts followers
 * back instead of leaving tombstones, so lookups never slow down with churn. */
#include "raft_peer/kv_store.h"

#include <stdlib.h>
#include <string.h>

#define KV_INITIAL_CAP 16

struct kv_slot {
    uint64_t hash;
    int64_t value;
    bool used;
    char name[COMMAND_NAME_MAX + 1];
};

struct kv_store {
    struct kv_slot *slots;
    size_t cap; /* a power of two */
    size_t count;
};

/* FNV-1a, then a 64-bit finalizer so the low bits used as the index are well mixed. */
static uint64_t hash_name(const char *s)
{
    uint64_t h = 14695981039346656037ULL;
    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

/* Index of name's slot, or of the empty slot where it would go. */
static size_t find_slot(const struct kv_slot *slots, size_t cap, const char *name, uint64_t h,
                        bool *found)
{
    size_t mask = cap - 1;
    size_t i = (size_t)h & mask;
    while (slots[i].used) {
        if (slots[i].hash == h && strcmp(slots[i].name, name) == 0) {
            *found = true;
            return i;
        }
        i = (i + 1) & mask;
    }
    *found = false;
    return i;
}

struct kv_store *kv_new(void)
{
    struct kv_store *kv = calloc(1, sizeof(*kv));
    if (kv == NULL)
        return NULL;
    kv->slots = calloc(KV_INITIAL_CAP, sizeof(*kv->slots));
    if (kv->slots == NULL) {
        free(kv);
        return NULL;
    }
    kv->cap = KV_INITIAL_CAP;
    return kv;
}

void kv_free(struct kv_store *kv)
{
    if (kv == NULL)
        return;
    free(kv->slots);
    free(kv);
}

static int grow(struct kv_store *kv)
{
    if (kv->cap > SIZE_MAX / 2 / sizeof(struct kv_slot))
        return -1;
    size_t cap = kv->cap * 2;
    struct kv_slot *slots = calloc(cap, sizeof(*slots));
    if (slots == NULL)
        return -1;
    for (size_t i = 0; i < kv->cap; i++) {
        if (!kv->slots[i].used)
            continue;
        bool found;
        size_t j = find_slot(slots, cap, kv->slots[i].name, kv->slots[i].hash, &found);
        slots[j] = kv->slots[i];
    }
    free(kv->slots);
    kv->slots = slots;
    kv->cap = cap;
    return 0;
}

bool kv_get(const struct kv_store *kv, const char *name, int64_t *value)
{
    bool found;
    size_t i = find_slot(kv->slots, kv->cap, name, hash_name(name), &found);
    if (found && value != NULL)
        *value = kv->slots[i].value;
    return found;
}

int kv_set(struct kv_store *kv, const char *name, int64_t value)
{
    size_t len = strnlen(name, COMMAND_NAME_MAX + 1);
    if (len > COMMAND_NAME_MAX)
        return -1;
    uint64_t h = hash_name(name);
    bool found;
    size_t i = find_slot(kv->slots, kv->cap, name, h, &found);
    if (found) {
        kv->slots[i].value = value;
        return 0;
    }
    /* Keep the load at or under 3/4 so probe runs stay short. */
    if ((kv->count + 1) * 4 > kv->cap * 3) {
        if (grow(kv) != 0)
            return -1;
        i = find_slot(kv->slots, kv->cap, name, h, &found);
    }
    struct kv_slot *s = &kv->slots[i];
    s->hash = h;
    s->value = value;
    s->used = true;
    memcpy(s->name, name, len + 1);
    kv->count++;
    return 0;
}

bool kv_del(struct kv_store *kv, const char *name, int64_t *old)
{
    bool found;
    size_t i = find_slot(kv->slots, kv->cap, name, hash_name(name), &found);
    if (!found)
        return false;
    if (old != NULL)
        *old = kv->slots[i].value;
    /* Backward shift: walk the run after the hole and move back every entry
     * whose home slot is not between the hole and itself, so no probe run is cut. */
    size_t mask = kv->cap - 1;
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!kv->slots[j].used)
            break;
        size_t home = (size_t)kv->slots[j].hash & mask;
        bool home_in_gap = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!home_in_gap) {
            kv->slots[i] = kv->slots[j];
            i = j;
        }
    }
    memset(&kv->slots[i], 0, sizeof(kv->slots[i]));
    kv->count--;
    return true;
}

size_t kv_count(const struct kv_store *kv)
{
    return kv->count;
}

void kv_foreach(const struct kv_store *kv, kv_visit_fn fn, void *ctx)
{
    for (size_t i = 0; i < kv->cap; i++)
        if (kv->slots[i].used)
            fn(ctx, kv->slots[i].name, kv->slots[i].value);
}

static int cmp_slot_name(const void *a, const void *b)
{
    const struct kv_slot *sa = *(const struct kv_slot *const *)a;
    const struct kv_slot *sb = *(const struct kv_slot *const *)b;
    return strcmp(sa->name, sb->name);
}

int kv_foreach_sorted(const struct kv_store *kv, kv_visit_fn fn, void *ctx)
{
    if (kv->count == 0)
        return 0;
    const struct kv_slot **order = malloc(kv->count * sizeof(*order));
    if (order == NULL)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < kv->cap; i++)
        if (kv->slots[i].used)
            order[n++] = &kv->slots[i];
    qsort(order, n, sizeof(*order), cmp_slot_name);
    for (size_t i = 0; i < n; i++)
        fn(ctx, order[i]->name, order[i]->value);
    free(order);
    return 0;
}
