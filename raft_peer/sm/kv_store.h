/* kv_store.h: the state machine's variables, a hash table from name to signed 64-bit value
 * that grows a few buckets at a time (docs/STATE_MACHINE.md, "The variable table").
 */
#ifndef KV_STORE_H
#define KV_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/command.h"

/* Old buckets moved to the doubled table by each kv_set or kv_del while a growth is
 * under way: the whole bound on the extra work one operation does. */
#define KV_REHASH_STEP 8

struct kv_store;

typedef void (*kv_visit_fn)(void *ctx, const char *name, int64_t value);

/* NULL when out of memory. */
struct kv_store *kv_new(void);
/* An empty table with buckets for n variables and one block for n entries whose names
 * total at most name_bytes (a snapshot being loaded): the buckets faulted in at once,
 * the block 2 MiB at a time as it fills, both in huge pages where the kernel can. */
struct kv_store *kv_new_reserved(size_t n, size_t name_bytes);
void kv_free(struct kv_store *kv);

/* True and *value set when name is present. */
bool kv_get(const struct kv_store *kv, const char *name, int64_t *value);
/* Inserts or overwrites. -1 (nothing changed) when out of memory or name is
 * longer than COMMAND_NAME_MAX. */
int kv_set(struct kv_store *kv, const char *name, int64_t value);
/* kv_set of the len bytes at name (no NUL needed) for a caller that already has
 * h = kv_hash(name, len): the snapshot reader, which hashes every name to check the
 * order and inserts straight from the snapshot bytes. */
int kv_set_hashed(struct kv_store *kv, const char *name, size_t len, uint64_t h, int64_t value);
/* kv_set_hashed for a name greater, in canonical order, than every name in the table:
 * the bulk load of a snapshot's variables into a table from kv_new_reserved. It goes at
 * the end of its chain without a lookup. Anything else (a table that was changed
 * otherwise, a name out of order, a growth due) takes kv_set_hashed's path, so the
 * result is always that of kv_set_hashed. */
int kv_append_canonical(struct kv_store *kv, const char *name, size_t len, uint64_t h,
                        int64_t value);
/* Unsets name; true and *old set if it was present. Never allocates. */
bool kv_del(struct kv_store *kv, const char *name, int64_t *old);
size_t kv_count(const struct kv_store *kv);
/* Sum of the lengths of all names (what a snapshot needs to size itself). */
size_t kv_name_bytes(const struct kv_store *kv);

/* The hash that places a name, a fixed function of its bytes (no seed): FNV-1a 64,
 * then MurmurHash3's 64-bit finalizer. Part of the snapshot format (version 2). */
uint64_t kv_hash(const char *name, size_t len);
/* The canonical order: by kv_hash, then by name bytes. <0, 0 or >0 like strcmp. */
int kv_canonical_cmp(uint64_t ha, const char *a, uint64_t hb, const char *b);
/* The same for names given as bytes and lengths. */
int kv_canonical_cmp_n(uint64_t ha, const char *a, size_t alen, uint64_t hb, const char *b,
                       size_t blen);

/* Visits every variable in canonical order, which depends only on the set of names,
 * not on insertion order, table size or a growth in progress. */
void kv_foreach(const struct kv_store *kv, kv_visit_fn fn, void *ctx);
/* Visits every variable sorted by name (strcmp order), for display. -1, and nothing
 * visited, when the sort array cannot be allocated. */
int kv_foreach_sorted(const struct kv_store *kv, kv_visit_fn fn, void *ctx);

/* For tests and benchmarks: the table's shape and the work done by the last call. */
struct kv_stats {
    size_t buckets;     /* of the current (new, while growing) table */
    size_t old_buckets; /* 0 unless a growth is under way */
    size_t rehash_next; /* old buckets below this one have been moved */
    size_t last_moved;  /* buckets the last kv_set/kv_del moved */
    size_t max_moved;   /* the most any call has moved */
    size_t growths;     /* growths started */
};
void kv_stats(const struct kv_store *kv, struct kv_stats *st);

#endif
