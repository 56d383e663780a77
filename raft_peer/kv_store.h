/* kv_store.h: the state machine's variables, a growing hash table from name to signed 64-bit value.
 */
#ifndef KV_STORE_H
#define KV_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/command.h"

struct kv_store;

typedef void (*kv_visit_fn)(void *ctx, const char *name, int64_t value);

/* NULL when out of memory. */
struct kv_store *kv_new(void);
void kv_free(struct kv_store *kv);

/* True and *value set when name is present. */
bool kv_get(const struct kv_store *kv, const char *name, int64_t *value);
/* Inserts or overwrites. -1 (nothing changed) when the table cannot grow or
 * name is longer than COMMAND_NAME_MAX. */
int kv_set(struct kv_store *kv, const char *name, int64_t value);
/* Unsets name; true and *old set if it was present. Never allocates. */
bool kv_del(struct kv_store *kv, const char *name, int64_t *old);
size_t kv_count(const struct kv_store *kv);

/* Visits every variable in table order (unspecified). */
void kv_foreach(const struct kv_store *kv, kv_visit_fn fn, void *ctx);
/* Visits every variable sorted by name (strcmp order). -1, and nothing visited,
 * when the sort array cannot be allocated. */
int kv_foreach_sorted(const struct kv_store *kv, kv_visit_fn fn, void *ctx);

#endif
