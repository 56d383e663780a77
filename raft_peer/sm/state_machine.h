/* state_machine.h: the replicated state machine (named signed 64-bit integers) every peer applies
 * committed entries to. */
#ifndef STATE_MACHINE_H
#define STATE_MACHINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Client sessions kept for exactly-once execution. Past this many, the session
 * whose last entry has the lowest log index is dropped (see client_sessions.h). */
#define SM_MAX_SESSIONS 4096
/* client_id is 1..64 bytes of [!-~]. */
#define SM_CLIENT_ID_MAX 64
/* Longest command text a log entry may carry: room for any amount of blanks
 * around a valid command, but bounded so a hostile entry cannot grow a buffer. */
#define SM_COMMAND_MAX 512
/* Longest payload sm_encode_command writes: "<client_id> <seq>[r] <command>". */
#define SM_PAYLOAD_MAX (SM_CLIENT_ID_MAX + 1 + 20 + 1 + 1 + SM_COMMAND_MAX)
/* The marker after seq of a request the client resent after an attempt that may
 * have reached a leader's log (see docs/STATE_MACHINE.md, "Expired sessions"). */
#define SM_RETRY_MARK 'r'

struct sm_result {
    bool ok;
    int64_t result;    /* the command's result; for cas_failed, the current value */
    char error[24];    /* "" or overflow, cas_failed, div_by_zero, bad_command, stale_seq,
                          session_expired */
    char message[160]; /* for humans, printable ASCII; "" on success */
};

struct state_machine;

/* NULL when out of memory. */
struct state_machine *sm_new(void);
void sm_free(struct state_machine *sm);

/* Writes the log entry payload "<client_id> <seq> <command>" NUL-terminated into
 * out, with SM_RETRY_MARK right after seq when retry is set ("c 1r x add 1").
 * command is passed through as is; the leader should pass the canonical text from
 * command_format. Returns the length without the NUL, or -1 when client_id or
 * command is not acceptable or out is too small. */
int sm_encode_command(char *out, size_t outlen, const char *client_id, uint64_t seq, bool retry,
                      const char *command);

/* Splits a payload. command receives the text after the second space,
 * NUL-terminated; *retry (when retry is not NULL) whether seq carried the retry
 * mark. Returns 0, or -1 when the payload is malformed (bad client_id, bad seq, a
 * byte outside printable ASCII and tab, command over command_len - 1 or
 * SM_COMMAND_MAX bytes). */
int sm_decode_command(const uint8_t *data, size_t len, char client_id[SM_CLIENT_ID_MAX + 1],
                      uint64_t *seq, bool *retry, char *command, size_t command_len);

/* Applies the committed entry at index (a client command payload): decodes it,
 * drops duplicates (a seq already applied for that client returns the first
 * answer, an older one stale_seq), refuses a client whose session may have been
 * dropped (session_expired, nothing changes), executes, and records the answer.
 * A malformed payload or command gives res->error "bad_command", never a crash.
 * Returns 0
 * with res filled; -1 when index is not above sm_last_applied or memory ran out,
 * in which case nothing changed: peers must apply the same entries in the same
 * way, so the daemon must stop rather than skip the entry. */
int sm_apply(struct state_machine *sm, uint64_t index, const uint8_t *data, size_t len,
             struct sm_result *res);

/* Advances last applied over an entry that carries no command (a leader's no-op).
 * -1 when index is not above sm_last_applied. */
int sm_apply_noop(struct state_machine *sm, uint64_t index);

/* The value of name, 0 when unset (*present, if given, tells which). */
int64_t sm_get(const struct state_machine *sm, const char *name, bool *present);
/* Number of variables set. */
size_t sm_count(const struct state_machine *sm);
/* Number of client sessions kept (at most SM_MAX_SESSIONS). */
size_t sm_session_count(const struct state_machine *sm);
/* Calls fn for every variable, sorted by name (byte order). Should sorting run
 * out of memory the order is unspecified: this is for display only. */
void sm_foreach(const struct state_machine *sm,
                void (*fn)(void *ctx, const char *name, int64_t value), void *ctx);
uint64_t sm_last_applied(const struct state_machine *sm);

/* Serialises variables, sessions and last applied index into a malloc'd buffer
 * (*out, freed by the caller). Two machines with the same state give the same
 * bytes. The format is in docs/STATE_MACHINE.md. Returns 0 or -1 (no memory). */
int sm_snapshot_encode(const struct state_machine *sm, uint8_t **out, size_t *outlen);

/* Replaces sm's whole state by the snapshot's. The bytes are untrusted: every
 * length, count, name and checksum is checked and on any failure sm is left
 * unchanged and -1 returned with a message in err. */
int sm_snapshot_decode(struct state_machine *sm, const uint8_t *data, size_t len, char *err,
                       size_t errlen);

/* Replaces sm's whole state by what a reader that returned 1 has read. */
struct sm_snapshot_reader;
void sm_snapshot_adopt(struct state_machine *sm, struct sm_snapshot_reader *rd);

#endif
