/* kv_store.c: separate chaining, indexed by the TOP bits of a fixed hash, each chain
 * kept sorted in canonical order (hash, then name).
 *
 * Indexing by the top bits makes bucket order hash order at every table size: bucket
 * i of a 2^k table holds exactly the hashes whose top k bits are i, and becomes
 * buckets 2i and 2i+1 of the 2^(k+1) table. So walking the buckets in order and each
 * sorted chain front to back visits the variables in canonical order, whatever the
 * insertion history, and a snapshot needs no sort.
 *
 * Growth is incremental: when the count reaches the bucket count, a table twice as
 * large is allocated (not zeroed: no O(n) pass) and each later kv_set or kv_del moves the
 * next KV_REHASH_STEP old buckets into it. A name's place during a growth is fixed by
 * its hash alone: old bucket i if i has not been moved yet, else the new table. So a
 * lookup looks in exactly one chain, and splitting a sorted chain into 2i and 2i+1
 * keeps both sorted (the split bit is the next hash bit, the most significant one not
 * yet used). A growth finishes after (old buckets / KV_REHASH_STEP) calls, long before
 * the doubled table fills up, so two growths never overlap.
 *
 * Each variable is one entry sized to its name: next pointer, value, top half of the
 * hash, length and the name inline, 21 + length + 1 bytes rounded up to 8 (32 for
 * "k123456", 88 for a 64-byte name). Entries are carved from slabs (KV_SLAB_BYTES, or
 * one slab sized for a whole snapshot), so there is no malloc header per variable; a
 * deleted entry goes to a free list for its size and is reused by the next name of that
 * size. Slabs and buckets are only given back by kv_free: the table never shrinks.
 *
 * Loading a snapshot (kv_new_reserved, then kv_append_canonical) is the one bulk
 * insertion: the names come in canonical order, so each one goes at the end of its
 * chain, which is the chain of the entry appended before it or a later, empty one.
 * Nothing is looked up, and the entries are laid out in the slab in bucket order. */
#include "raft_peer/sm/prefault.h"
#include "raft_peer/sm/kv_store.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Under AddressSanitizer, slab bytes not handed out and entries on a free list are
 * poisoned, so a use after kv_del is caught as it would be with malloc and free. */
#if defined(__SANITIZE_ADDRESS__)
#define KV_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KV_ASAN 1
#endif
#endif
#ifdef KV_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n)   ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n)   ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define KV_MIN_BITS   4
#define KV_MAX_BITS   32 /* a chain's split bit must be within the stored hash_hi */
#define KV_SLAB_BYTES (256 * 1024)
#define KV_ENTRY_MIN  24 /* the entry of a 1-byte name */
#define KV_ENTRY_MAX  88 /* of a COMMAND_NAME_MAX-byte name */
#define KV_CLASSES    ((KV_ENTRY_MAX - KV_ENTRY_MIN) / 8 + 1)

/* Only the top 32 bits of the hash are kept: they place the entry in every table of up
 * to 2^32 buckets and order the chains; the full hash is recomputed in the rare case
 * that two different names share them. */
struct kv_entry {
    struct kv_entry *next;
    int64_t value;
    uint32_t hash_hi;
    uint8_t len;
    char name[]; /* len bytes and a NUL */
};

_Static_assert(((offsetof(struct kv_entry, name) + 1 + 1 + 7) & ~(size_t)7) == KV_ENTRY_MIN,
               "KV_ENTRY_MIN is the entry of a 1-byte name");
_Static_assert(((offsetof(struct kv_entry, name) + COMMAND_NAME_MAX + 1 + 7) & ~(size_t)7) ==
                   KV_ENTRY_MAX,
               "KV_ENTRY_MAX is the entry of the longest name");

struct kv_slab {
    struct kv_slab *next;
    size_t used;
    size_t cap;
    size_t faulted; /* mem[0, faulted) has been faulted in, or will be on first touch */
    _Alignas(8) unsigned char mem[];
};

struct kv_table {
    struct kv_entry **b; /* NULL for no table */
    unsigned bits;       /* 1 << bits buckets */
};

struct kv_store {
    struct kv_table t;                      /* the table; the new one while growing */
    struct kv_table old;                    /* the table being emptied into t, or none */
    size_t rehash_next;                     /* old buckets below this have been moved */
    struct kv_slab *slabs;                  /* the first one is carved from */
    struct kv_entry *free_list[KV_CLASSES]; /* deleted entries, by size */
    size_t count;
    size_t name_bytes;
    /* The greatest entry, while every entry came from kv_append_canonical (NULL
     * otherwise, or when empty): where the next appended name goes. */
    struct kv_entry *tail;
    bool appending; /* only kv_append_canonical has changed the table so far */
    size_t last_moved;
    size_t max_moved;
    size_t growths;
};

uint64_t kv_hash(const char *name, size_t len)
{
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)name[i];
        h *= 1099511628211ULL;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

/* Byte order, a prefix first: strcmp's order for names, which hold no NUL. */
static int name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen;
}

int kv_canonical_cmp_n(uint64_t ha, const char *a, size_t alen, uint64_t hb, const char *b,
                       size_t blen)
{
    if (ha != hb)
        return ha < hb ? -1 : 1;
    return name_cmp(a, alen, b, blen);
}

int kv_canonical_cmp(uint64_t ha, const char *a, uint64_t hb, const char *b)
{
    return kv_canonical_cmp_n(ha, a, strlen(a), hb, b, strlen(b));
}

static size_t index_of(uint64_t h, unsigned bits)
{
    return (size_t)(h >> (64 - bits));
}

/* The chain where a name with hash h lives (or would go). */
static struct kv_entry **chain_of(const struct kv_store *kv, uint64_t h)
{
    if (kv->old.b != NULL) {
        size_t i = index_of(h, kv->old.bits);
        if (i >= kv->rehash_next)
            return &kv->old.b[i];
    }
    return &kv->t.b[index_of(h, kv->t.bits)];
}

/* The link that points at name's entry, or at the first entry after it (or NULL). */
static struct kv_entry **find_link(struct kv_entry **link, const char *name, size_t len, uint64_t h,
                                   bool *found)
{
    uint32_t hi = (uint32_t)(h >> 32);
    *found = false;
    for (; *link != NULL; link = &(*link)->next) {
        struct kv_entry *e = *link;
        if (e->hash_hi < hi)
            continue;
        if (e->hash_hi > hi)
            break;
        if (e->len == len && memcmp(e->name, name, len) == 0) {
            *found = true;
            break;
        }
        if (kv_canonical_cmp_n(kv_hash(e->name, e->len), e->name, e->len, h, name, len) < 0)
            continue;
        break;
    }
    return link;
}

static size_t entry_size(size_t len)
{
    return (offsetof(struct kv_entry, name) + len + 1 + 7) & ~(size_t)7;
}

/* A reserved slab (a snapshot's entries) is faulted in 2 MiB at a time as it is carved,
 * in one call per step rather than a fault per 4 KiB page: its size is only a bound
 * (every name rounded up to the longest entry of its length), and the part never used
 * is never faulted in. */
static void fault_ahead(struct kv_slab *s)
{
    uintptr_t base = (uintptr_t)s->mem;
    uintptr_t to = ((base + s->used) & ~(uintptr_t)(PREFAULT_HUGE_BYTES - 1)) + PREFAULT_HUGE_BYTES;
    size_t end = to - base < s->cap ? (size_t)(to - base) : s->cap;
    prefault(s->mem + s->faulted, end - s->faulted);
    s->faulted = end;
}

static int add_slab(struct kv_store *kv, size_t bytes, bool reserved)
{
    struct kv_slab *s = reserved ? huge_malloc(sizeof(*s) + bytes) : malloc(sizeof(*s) + bytes);
    if (s == NULL)
        return -1;
    /* Before the first write to it, or its first 2 MiB would come as small pages. */
    if (reserved)
        prefer_huge_pages(s, sizeof(*s) + bytes);
    s->used = 0;
    s->cap = bytes;
    s->faulted = bytes; /* an ordinary slab is small: touched as it is used */
    if (reserved) {
        s->faulted = 0;
        fault_ahead(s);
    }
    s->next = kv->slabs;
    kv->slabs = s;
    POISON(s->mem, bytes);
    return 0;
}

static struct kv_entry *entry_alloc(struct kv_store *kv, size_t len)
{
    size_t size = entry_size(len);
    size_t cls = (size - KV_ENTRY_MIN) / 8;
    struct kv_entry *e = kv->free_list[cls];
    if (e != NULL) {
        UNPOISON(e, size);
        kv->free_list[cls] = e->next;
        return e;
    }
    if ((kv->slabs == NULL || kv->slabs->cap - kv->slabs->used < size) &&
        add_slab(kv, KV_SLAB_BYTES, false) != 0)
        return NULL;
    e = (struct kv_entry *)(void *)(kv->slabs->mem + kv->slabs->used);
    kv->slabs->used += size;
    if (kv->slabs->used > kv->slabs->faulted)
        fault_ahead(kv->slabs);
    UNPOISON(e, size);
    return e;
}

static void entry_release(struct kv_store *kv, struct kv_entry *e)
{
    size_t size = entry_size(e->len);
    size_t cls = (size - KV_ENTRY_MIN) / 8;
    e->next = kv->free_list[cls];
    kv->free_list[cls] = e;
    POISON(e, size);
}

struct kv_store *kv_new(void)
{
    return kv_new_reserved(0, 0);
}

struct kv_store *kv_new_reserved(size_t n, size_t name_bytes)
{
    unsigned bits = KV_MIN_BITS;
    while (bits < KV_MAX_BITS && ((size_t)1 << bits) < n)
        bits++;
    struct kv_store *kv = calloc(1, sizeof(*kv));
    if (kv == NULL)
        return NULL;
    kv->appending = true;
    size_t nb = (size_t)1 << bits, bytes = nb * sizeof(*kv->t.b);
    kv->t.bits = bits;
    if (n == 0) {
        kv->t.b = calloc(nb, sizeof(*kv->t.b));
    } else {
        /* Aligned so it is all huge pages, faulted in at once, then zeroed (calloc would
         * not align it). */
        kv->t.b = huge_malloc(bytes);
        if (kv->t.b != NULL) {
            prefault(kv->t.b, bytes);
            memset(kv->t.b, 0, bytes);
        }
    }
    size_t slab = n * (offsetof(struct kv_entry, name) + 1 + 7) + name_bytes;
    if (kv->t.b == NULL || (n > 0 && add_slab(kv, slab, true) != 0)) {
        kv_free(kv);
        return NULL;
    }
    return kv;
}

void kv_free(struct kv_store *kv)
{
    if (kv == NULL)
        return;
    while (kv->slabs != NULL) {
        struct kv_slab *next = kv->slabs->next;
        UNPOISON(kv->slabs->mem, kv->slabs->cap);
        free(kv->slabs);
        kv->slabs = next;
    }
    free(kv->old.b);
    free(kv->t.b);
    free(kv);
}

/* Moves up to KV_REHASH_STEP old buckets; frees the old table once it is empty. */
static void rehash_step(struct kv_store *kv)
{
    size_t moved = 0;
    if (kv->old.b != NULL) {
        size_t old_cap = (size_t)1 << kv->old.bits;
        unsigned shift = 32 - kv->t.bits;
        while (moved < KV_REHASH_STEP && kv->rehash_next < old_cap) {
            size_t i = kv->rehash_next++;
            struct kv_entry *e = kv->old.b[i];
            kv->old.b[i] = NULL;
            moved++;
            /* Sorted by hash, so the entries for 2i (next bit 0) all come first. */
            struct kv_entry *hi = e, *last_lo = NULL;
            while (hi != NULL && ((hi->hash_hi >> shift) & 1) == 0) {
                last_lo = hi;
                hi = hi->next;
            }
            if (last_lo != NULL)
                last_lo->next = NULL;
            /* Both written: the new table was not zeroed (see maybe_grow). */
            kv->t.b[2 * i] = last_lo != NULL ? e : NULL;
            kv->t.b[2 * i + 1] = hi;
        }
        if (kv->rehash_next == old_cap) {
            free(kv->old.b);
            kv->old.b = NULL;
            kv->old.bits = 0;
            kv->rehash_next = 0;
        }
    }
    kv->last_moved = moved;
    if (moved > kv->max_moved)
        kv->max_moved = moved;
}

/* Starts a growth when the load reaches 1. Failing to allocate is not an error:
 * chains just get longer until a later attempt succeeds. The new array is not zeroed
 * (calloc may memset it, an O(n) pass): new buckets 2i and 2i+1 are only read once old
 * bucket i has been moved, which writes both. */
static void maybe_grow(struct kv_store *kv)
{
    if (kv->old.b != NULL || kv->count < ((size_t)1 << kv->t.bits) || kv->t.bits >= KV_MAX_BITS)
        return;
    struct kv_entry **b = malloc(((size_t)1 << (kv->t.bits + 1)) * sizeof(*b));
    if (b == NULL)
        return;
    kv->old = kv->t;
    kv->t.b = b;
    kv->t.bits++;
    kv->rehash_next = 0;
    kv->growths++;
}

bool kv_get(const struct kv_store *kv, const char *name, int64_t *value)
{
    size_t len = strlen(name);
    uint64_t h = kv_hash(name, len);
    bool found;
    struct kv_entry **link = find_link(chain_of(kv, h), name, len, h, &found);
    if (found && value != NULL)
        *value = (*link)->value;
    return found;
}

int kv_set_hashed(struct kv_store *kv, const char *name, size_t len, uint64_t h, int64_t value)
{
    if (len > COMMAND_NAME_MAX)
        return -1;
    kv->appending = false;
    kv->tail = NULL;
    rehash_step(kv);
    bool found;
    struct kv_entry **link = find_link(chain_of(kv, h), name, len, h, &found);
    if (found) {
        (*link)->value = value;
        return 0;
    }
    struct kv_entry *e = entry_alloc(kv, len);
    if (e == NULL)
        return -1;
    e->hash_hi = (uint32_t)(h >> 32);
    e->value = value;
    e->len = (uint8_t)len;
    memcpy(e->name, name, len);
    e->name[len] = '\0';
    /* A growth that starts here moves nothing yet: link is still the right place. */
    maybe_grow(kv);
    e->next = *link;
    *link = e;
    kv->count++;
    kv->name_bytes += len;
    return 0;
}

int kv_set(struct kv_store *kv, const char *name, int64_t value)
{
    size_t len = strnlen(name, COMMAND_NAME_MAX + 1);
    if (len > COMMAND_NAME_MAX)
        return -1;
    return kv_set_hashed(kv, name, len, kv_hash(name, len), value);
}

bool kv_del(struct kv_store *kv, const char *name, int64_t *old)
{
    kv->appending = false;
    kv->tail = NULL;
    rehash_step(kv);
    size_t len = strlen(name);
    uint64_t h = kv_hash(name, len);
    bool found;
    struct kv_entry **link = find_link(chain_of(kv, h), name, len, h, &found);
    if (!found)
        return false;
    struct kv_entry *e = *link;
    if (old != NULL)
        *old = e->value;
    *link = e->next;
    kv->count--;
    kv->name_bytes -= e->len;
    entry_release(kv, e);
    return true;
}

int kv_append_canonical(struct kv_store *kv, const char *name, size_t len, uint64_t h,
                        int64_t value)
{
    uint32_t hi = (uint32_t)(h >> 32);
    struct kv_entry *tail = kv->tail;
    /* Anything but an append to a table that only ever had appends, or one that would
     * start a growth, takes the general path, which is right in every case. */
    if (!kv->appending || len == 0 || len > COMMAND_NAME_MAX || kv->old.b != NULL ||
        kv->count >= ((size_t)1 << kv->t.bits))
        return kv_set_hashed(kv, name, len, h, value);
    if (tail != NULL &&
        (hi < tail->hash_hi ||
         (hi == tail->hash_hi && kv_canonical_cmp_n(kv_hash(tail->name, tail->len), tail->name,
                                                    tail->len, h, name, len) >= 0)))
        return kv_set_hashed(kv, name, len, h, value);
    struct kv_entry *e = entry_alloc(kv, len);
    if (e == NULL)
        return -1;
    e->next = NULL;
    e->hash_hi = hi;
    e->value = value;
    e->len = (uint8_t)len;
    memcpy(e->name, name, len);
    e->name[len] = '\0';
    unsigned shift = 32 - kv->t.bits;
    if (tail != NULL && tail->hash_hi >> shift == hi >> shift)
        tail->next = e;
    else
        kv->t.b[index_of(h, kv->t.bits)] = e; /* empty: every earlier name is in a lower one */
    kv->tail = e;
    kv->count++;
    kv->name_bytes += len;
    kv->last_moved = 0;
    return 0;
}

size_t kv_count(const struct kv_store *kv)
{
    return kv->count;
}

size_t kv_name_bytes(const struct kv_store *kv)
{
    return kv->name_bytes;
}

/* Visits buckets [from, to) of b. Entries sit wherever they were allocated, so in
 * bucket order each one is a cache miss: fetching the heads of buckets a few ahead lets
 * those misses overlap instead of queueing behind the visitor (3-4x faster at 1M). */
#define KV_PREFETCH_AHEAD 16
static void visit_range(struct kv_entry *const *b, size_t from, size_t to, kv_visit_fn fn,
                        void *ctx)
{
    for (size_t i = from; i < to; i++) {
        if (i + KV_PREFETCH_AHEAD < to && b[i + KV_PREFETCH_AHEAD] != NULL)
            __builtin_prefetch(b[i + KV_PREFETCH_AHEAD]);
        for (const struct kv_entry *e = b[i]; e != NULL; e = e->next)
            fn(ctx, e->name, e->value);
    }
}

void kv_foreach(const struct kv_store *kv, kv_visit_fn fn, void *ctx)
{
    /* While growing: new buckets [0, 2 * rehash_next) cover old [0, rehash_next), the
     * rest of the hash range is still in old buckets [rehash_next, old_cap). */
    if (kv->old.b == NULL) {
        visit_range(kv->t.b, 0, (size_t)1 << kv->t.bits, fn, ctx);
        return;
    }
    visit_range(kv->t.b, 0, 2 * kv->rehash_next, fn, ctx);
    visit_range(kv->old.b, kv->rehash_next, (size_t)1 << kv->old.bits, fn, ctx);
}

struct named {
    const char *name;
    int64_t value;
};

struct collect {
    struct named *v;
    size_t n;
};

static void collect_one(void *ctx, const char *name, int64_t value)
{
    struct collect *c = ctx;
    c->v[c->n].name = name;
    c->v[c->n].value = value;
    c->n++;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(((const struct named *)a)->name, ((const struct named *)b)->name);
}

int kv_foreach_sorted(const struct kv_store *kv, kv_visit_fn fn, void *ctx)
{
    if (kv->count == 0)
        return 0;
    struct collect c = {malloc(kv->count * sizeof(*c.v)), 0};
    if (c.v == NULL)
        return -1;
    kv_foreach(kv, collect_one, &c);
    qsort(c.v, c.n, sizeof(*c.v), cmp_name);
    for (size_t i = 0; i < c.n; i++)
        fn(ctx, c.v[i].name, c.v[i].value);
    free(c.v);
    return 0;
}

void kv_stats(const struct kv_store *kv, struct kv_stats *st)
{
    st->buckets = (size_t)1 << kv->t.bits;
    st->old_buckets = kv->old.b != NULL ? (size_t)1 << kv->old.bits : 0;
    st->rehash_next = kv->rehash_next;
    st->last_moved = kv->last_moved;
    st->max_moved = kv->max_moved;
    st->growths = kv->growths;
}
