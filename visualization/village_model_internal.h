/* village_model_internal.h: what village_model.c shares with village_parse.c, and
 * nothing else in the game should call. */
#ifndef VILLAGE_MODEL_INTERNAL_H
#define VILLAGE_MODEL_INTERNAL_H

#include <stdbool.h>

#include "visualization/village_model.h"

/* [A-Za-z0-9_-]{1,32}, the ini's rule for section names. */
bool village_valid_peer_name(const char *s);

/* Recomputes the villagers shown from -n, the file and the largest n heard. */
void village_model_recompute_n(struct village_model *m);

/* A state arrived from slot (old is the peer as it was before): it is alive, and the
 * feed hears of a join, a rise or a restart. */
void village_model_note_alive(struct village_model *m, int slot, const struct village_peer *old,
                              long pid, uint64_t now_ms);

/* A state arrived from slot: follow the village's configuration (the leader's) and
 * tell the feed of arrivals, promotions and departures (village_members.c). */
void village_model_note_membership(struct village_model *m, int slot, uint64_t now_ms);

/* One past the highest slot that is a member or was heard from, 0 without membership
 * news: the villagers shown reach at least that far. */
int village_model_extent(const struct village_model *m);

/* Puts a message in the air, dropping the oldest when the sky is full. */
void village_model_push_flight(struct village_model *m, const struct village_flight *f);

#endif /* VILLAGE_MODEL_INTERNAL_H */
