/* client_sessions.h: exactly-once client sessions (Ongaro's dissertation §6.3), bounded, least
 * recently used dropped first. */
#ifndef CLIENT_SESSIONS_H
#define CLIENT_SESSIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "raft_peer/sm/state_machine.h"

/* Expiry rule. The dissertation (§6.3) keeps one session per client so that a
 * retried command is not executed twice, and notes that sessions cannot be kept
 * forever: every server must expire them the same way, from the log alone. Here
 * each session is stamped with the log index of the latest entry its client sent
 * (applied, duplicate or stale alike). When a client not yet known would make
 * more than the table's bound, the session with the lowest stamp is dropped.
 * Every peer applies the same entries in the same order, so every peer stamps
 * and drops the same sessions; no clock is involved. A client whose session was
 * dropped is not taken for a new one: the state machine answers its requests
 * session_expired and runs nothing (state_machine.c, session_may_have_expired),
 * so a retry can never run a command a second time. */

struct session {
    char client_id[SM_CLIENT_ID_MAX + 1];
    uint64_t last_seq;         /* highest seq applied for this client */
    uint64_t last_index;       /* log index of this client's latest entry: the LRU stamp */
    struct sm_result response; /* what last_seq answered, returned again to a retry */
    uint64_t hash;             /* of client_id, kept to rehash and probe quickly */
    struct session *older;     /* LRU list neighbours, by last_index */
    struct session *newer;
};

struct sessions;

/* A table holding at most max sessions (max >= 1). NULL when out of memory. */
struct sessions *sessions_new(size_t max);
/* Frees the table and every session in it. */
void sessions_free(struct sessions *ss);

struct session *sessions_find(const struct sessions *ss, const char *client_id);
size_t sessions_count(const struct sessions *ss);
/* True when the table holds its bound. Sessions leave only by eviction, which
 * happens only when the table is full and keeps it full, so a table that is not
 * full has never dropped a session. */
bool sessions_full(const struct sessions *ss);

/* A zeroed session for client_id (1..SM_CLIENT_ID_MAX bytes), in no table yet.
 * NULL when out of memory or client_id is too long. Allocated apart from the
 * insertion so a caller can fail before it changes anything. */
struct session *session_alloc(const char *client_id);

/* Adds s, whose client_id must not be in the table, as the most recently used
 * with stamp index. When the table is full the least recently used session is
 * first removed and freed. Cannot fail. */
void sessions_insert(struct sessions *ss, struct session *s, uint64_t index);

/* Stamps s with index, above every stamp so far, making it the most recently used. */
void sessions_touch(struct sessions *ss, struct session *s, uint64_t index);

/* The least recently used session (NULL when empty); ->newer walks the rest in
 * increasing last_index. */
const struct session *sessions_oldest(const struct sessions *ss);

#endif
