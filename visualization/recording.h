/* recording.h: the game stream saved to a file (--record) and read back (--replay).
 *
 * The format is text, one datagram a line, in the order the game received them:
 *
 *     # raft_game recording 1
 *     # peers peer1 peer2 peer3
 *     1532 {"type":"state","peer":"peer1",...}
 *     1533 {"type":"msg","from":"peer1",...}
 *
 * <ms> is the game's monotonic clock in milliseconds since it started (decimal, at most
 * RECORDING_MS_DIGITS digits), then one space, then the datagram as it arrived (at most
 * VILLAGE_DATAGRAM_MAX bytes; a CR or LF inside it is written as a space). Lines starting
 * with '#' are comments; "# peers NAME..." names the villagers of the ini, in order, and
 * "# end <ms>" is when the game stopped recording (a killed game leaves none).
 * "# kill <ms> NAME" and "# revive <ms> NAME" are the game's own hands: a villager it
 * killed is a grave at once (not only once silent), one it revived is awaited.
 * No SDL here: the parser and the player are unit-tested. */
#ifndef GAME_RECORDING_H
#define GAME_RECORDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "visualization/village_model.h"

#define RECORDING_MAGIC      "# raft_game recording 1"
#define RECORDING_MS_DIGITS  10 /* up to 9,999,999,999 ms: 115 days */
#define RECORDING_LINE_MAX   (RECORDING_MS_DIGITS + 1 + VILLAGE_DATAGRAM_MAX)
#define RECORDING_MAX_BYTES  (256u * 1024 * 1024) /* the recorder stops there; so does --replay */
#define RECORDING_FLUSH_MS   250                  /* a killed game loses at most this */
#define RECORDING_MAX_ERRORS 5                    /* malformed lines reported one by one */

/* --- writing ---------------------------------------------------------------------------- */

struct recorder {
    FILE *f;
    char path[4096];
    uint64_t bytes;      /* written so far */
    uint64_t n_lines;    /* datagrams saved */
    uint64_t n_skipped;  /* not saved: oversized, a NUL byte inside, or the file is full */
    bool full;           /* RECORDING_MAX_BYTES reached: nothing more is saved */
    bool failed;         /* a write failed: nothing more is saved */
    uint64_t flushed_ms; /* when the buffer was last flushed */
};

/* Creates (truncates) path and writes the header; peers (may be NULL) are the ini's
 * peer names, in order. 0, or -1 with err. */
int recorder_open(struct recorder *r, const char *path, const char *const *peers, int n_peers,
                  char *err, size_t errlen);
/* Saves one datagram received at ms. Returns 0, or -1 when it was not saved (see
 * n_skipped; full and failed tell why). */
int recorder_write(struct recorder *r, uint64_t ms, const char *data, size_t len);
/* Saves the game's own action on a villager at ms: "kill" or "revive". */
void recorder_action(struct recorder *r, uint64_t ms, const char *action, const char *peer);
/* Flushes when RECORDING_FLUSH_MS have passed since the last flush. */
void recorder_tick(struct recorder *r, uint64_t now_ms);
/* Writes "# end <now_ms>" (so the recording lasts as long as the game did, not only to
 * its last datagram), flushes and closes. 0, or -1 if anything written was lost. */
int recorder_close(struct recorder *r, uint64_t now_ms);

/* --- reading ---------------------------------------------------------------------------- */

enum recording_kind {
    RECORDING_DATAGRAM = 0,
    RECORDING_KILL,   /* the game killed the villager named at off, len */
    RECORDING_REVIVE, /* the game started it again */
};

struct recording_entry {
    uint64_t ms;
    size_t off; /* of the datagram (or the villager's name) in data */
    size_t len;
    enum recording_kind kind;
};

struct recording {
    char *data; /* the file's bytes (owned) */
    size_t size, data_cap;
    struct recording_entry *e;
    size_t n, cap;
    char peers[VILLAGE_MAX_PEERS][VILLAGE_NAME_MAX]; /* from "# peers", "" if none */
    int n_peers;
    uint64_t end_ms;      /* from "# end", 0 if none */
    uint64_t n_malformed; /* lines skipped */
    uint64_t n_reordered; /* lines whose time went back: kept, at the previous line's time */
    bool truncated;       /* the file was longer than RECORDING_MAX_BYTES */
    char first_error[200];
};

/* Parses one line (without its newline; a trailing CR is allowed). Returns 1 for a
 * datagram (*ms, and the datagram at line + *off, *len bytes), 0 for a comment or an
 * empty line, -1 for a malformed line (the reason in err). */
int recording_parse_line(const char *line, size_t len, uint64_t *ms, size_t *off, size_t *dlen,
                         char *err, size_t errlen);

/* Takes over data (malloc'ed, size bytes; freed by recording_free) and indexes it. Never
 * fails on content: malformed lines are counted and skipped. -1 only when out of memory. */
int recording_index(struct recording *r, char *data, size_t size);
/* Reads path (at most RECORDING_MAX_BYTES) and indexes it. 0, or -1 with err when the file
 * cannot be read. */
int recording_load(struct recording *r, const char *path, char *err, size_t errlen);
void recording_free(struct recording *r);
/* Appends a datagram received at ms (live pause buffer); copies it. 0 or -1 (full). */
int recording_append(struct recording *r, uint64_t ms, const char *data, size_t len);
/* How long the recording lasts: its "# end", else the time of its last datagram. */
uint64_t recording_length_ms(const struct recording *r);

/* --- playing ---------------------------------------------------------------------------- */

/* Plays a recording into a model, as the live game would have fed it: every datagram at
 * its time, and the model's clock ticked every REPLAY_TICK_MS between them. */
#define REPLAY_TICK_MS 16

struct replay {
    const struct recording *rec;
    struct village_model base; /* the model before the first datagram, for seeking back */
    size_t next;               /* the next entry to feed */
    uint64_t t;                /* where the model is, in recording time */
    uint64_t t0;               /* where the base stands */
    uint64_t last_fed_ms;      /* time of the last datagram fed */
};

/* Starts at time t0 with the model *m as it is (which is also the base seeking back
 * returns to). */
void replay_start(struct replay *p, const struct recording *rec, const struct village_model *m,
                  uint64_t t0);
/* Feeds every datagram up to time to and ticks the model there. Never goes back. */
void replay_advance(struct replay *p, struct village_model *m, uint64_t to);
/* Rebuilds the model from the base up to time to (forward or back). */
void replay_seek(struct replay *p, struct village_model *m, uint64_t to);
/* Feeds datagrams until one adds a line to the feed (an event: an election, a commit,
 * a peer falling silent), or the recording ends. Returns false at the end. */
bool replay_step(struct replay *p, struct village_model *m);
/* True when every datagram has been fed. */
bool replay_at_end(const struct replay *p);

#endif /* GAME_RECORDING_H */
