/* recording.c: the game stream to a file and back (the format is in recording.h). The
 * file is untrusted when read: every line is checked and a bad one is counted and
 * skipped, never fed half-way; the datagrams themselves go through the model's own
 * checks, exactly as they did live. */
#include "visualization/recording.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/error_message.h"

/* --- writing ---------------------------------------------------------------------------- */

int recorder_open(struct recorder *r, const char *path, const char *const *peers, int n_peers,
                  char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    snprintf(r->path, sizeof r->path, "%s", path);
    r->f = fopen(path, "w");
    if (r->f == NULL) {
        set_err(err, errlen, "--record %s: %s", path, strerror(errno));
        return -1;
    }
    /* A full buffer is written at once; the flush every RECORDING_FLUSH_MS does the rest. */
    setvbuf(r->f, NULL, _IOFBF, 1 << 16);
    fprintf(r->f, "%s\n", RECORDING_MAGIC);
    if (n_peers > 0) {
        fputs("# peers", r->f);
        for (int i = 0; i < n_peers; i++)
            fprintf(r->f, " %s", peers[i]);
        fputc('\n', r->f);
    }
    if (fflush(r->f) != 0 || ferror(r->f)) {
        set_err(err, errlen, "--record %s: %s", path, strerror(errno));
        fclose(r->f);
        r->f = NULL;
        return -1;
    }
    r->bytes = (uint64_t)ftell(r->f);
    return 0;
}

int recorder_write(struct recorder *r, uint64_t ms, const char *data, size_t len)
{
    char line[RECORDING_LINE_MAX + 2];
    int n;

    if (r->f == NULL || r->full || r->failed || len == 0 || len > VILLAGE_DATAGRAM_MAX ||
        memchr(data, '\0', len) != NULL) {
        r->n_skipped++;
        return -1;
    }
    n = snprintf(line, sizeof line, "%" PRIu64 " ", ms);
    if (n < 0 || n > RECORDING_MS_DIGITS + 1) {
        r->n_skipped++;
        return -1;
    }
    for (size_t i = 0; i < len; i++)
        line[n + (int)i] = (data[i] == '\n' || data[i] == '\r') ? ' ' : data[i];
    n += (int)len;
    line[n++] = '\n';
    if (r->bytes + (uint64_t)n > RECORDING_MAX_BYTES) {
        r->full = true;
        r->n_skipped++;
        fprintf(r->f, "# the recording stops here: the file reached %u bytes\n",
                RECORDING_MAX_BYTES);
        fflush(r->f);
        return -1;
    }
    if (fwrite(line, 1, (size_t)n, r->f) != (size_t)n) {
        r->failed = true;
        r->n_skipped++;
        return -1;
    }
    r->bytes += (uint64_t)n;
    r->n_lines++;
    return 0;
}

void recorder_action(struct recorder *r, uint64_t ms, const char *action, const char *peer)
{
    int n;

    if (r->f == NULL || r->full || r->failed)
        return;
    n = fprintf(r->f, "# %s %" PRIu64 " %s\n", action, ms, peer);
    if (n < 0)
        r->failed = true;
    else
        r->bytes += (uint64_t)n;
}

void recorder_tick(struct recorder *r, uint64_t now_ms)
{
    if (r->f == NULL || now_ms < r->flushed_ms + RECORDING_FLUSH_MS)
        return;
    r->flushed_ms = now_ms;
    if (fflush(r->f) != 0)
        r->failed = true;
}

int recorder_close(struct recorder *r, uint64_t now_ms)
{
    int rc = 0;

    if (r->f == NULL)
        return 0;
    if (!r->failed)
        fprintf(r->f, "# end %" PRIu64 "\n", now_ms);
    if (fflush(r->f) != 0 || ferror(r->f))
        rc = -1;
    if (fclose(r->f) != 0)
        rc = -1;
    r->f = NULL;
    return r->failed ? -1 : rc;
}

/* --- reading ---------------------------------------------------------------------------- */

int recording_parse_line(const char *line, size_t len, uint64_t *ms, size_t *off, size_t *dlen,
                         char *err, size_t errlen)
{
    size_t i = 0;
    uint64_t v = 0;

    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (len == 0 || line[0] == '#')
        return 0;
    if (len > RECORDING_LINE_MAX) {
        set_err(err, errlen, "a line of %zu bytes (at most %d)", len, RECORDING_LINE_MAX);
        return -1;
    }
    if (memchr(line, '\0', len) != NULL) {
        set_err(err, errlen, "a NUL byte");
        return -1;
    }
    while (i < len && line[i] >= '0' && line[i] <= '9') {
        if (i == RECORDING_MS_DIGITS) {
            set_err(err, errlen, "a time of more than %d digits", RECORDING_MS_DIGITS);
            return -1;
        }
        v = v * 10 + (uint64_t)(line[i] - '0');
        i++;
    }
    if (i == 0) {
        set_err(err, errlen, "no time in milliseconds at the start");
        return -1;
    }
    if (i == len || line[i] != ' ') {
        set_err(err, errlen, "no space after the time");
        return -1;
    }
    i++;
    if (i == len) {
        set_err(err, errlen, "no datagram after the time");
        return -1;
    }
    if (len - i > VILLAGE_DATAGRAM_MAX) {
        set_err(err, errlen, "a datagram of %zu bytes (at most %d)", len - i, VILLAGE_DATAGRAM_MAX);
        return -1;
    }
    *ms = v;
    *off = i;
    *dlen = len - i;
    return 1;
}

static int push_entry(struct recording *r, uint64_t ms, size_t off, size_t len,
                      enum recording_kind kind)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 1024;
        struct recording_entry *e = realloc(r->e, cap * sizeof *e);
        if (e == NULL)
            return -1;
        r->e = e;
        r->cap = cap;
    }
    /* The file's order is the order of arrival: a time that goes back is a damaged or
     * hand-made file; the datagram keeps its place, at the time of the one before. */
    if (r->n > 0 && ms < r->e[r->n - 1].ms) {
        ms = r->e[r->n - 1].ms;
        r->n_reordered++;
    }
    r->e[r->n++] = (struct recording_entry){.ms = ms, .off = off, .len = len, .kind = kind};
    return 0;
}

static void note_malformed(struct recording *r, size_t line_no, const char *why)
{
    if (r->n_malformed == 0)
        snprintf(r->first_error, sizeof r->first_error, "line %zu: %s", line_no, why);
    r->n_malformed++;
}

/* Digits from line[*i] to the next space or the end, at most RECORDING_MS_DIGITS. */
static int parse_digits(const char *line, size_t len, size_t *i, uint64_t *out)
{
    size_t start = *i;
    uint64_t v = 0;

    for (; *i < len && line[*i] != ' '; (*i)++) {
        if (line[*i] < '0' || line[*i] > '9' || *i - start >= RECORDING_MS_DIGITS)
            return -1;
        v = v * 10 + (uint64_t)(line[*i] - '0');
    }
    if (*i == start)
        return -1;
    *out = v;
    return 0;
}

/* "# kill 1234 peer2", "# revive 1234 peer2": the game's hands. */
static int parse_action(struct recording *r, const char *line, size_t len, size_t pos)
{
    static const char kill[] = "# kill ", revive[] = "# revive ";
    enum recording_kind kind;
    size_t i;
    uint64_t at;

    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (len > sizeof kill - 1 && memcmp(line, kill, sizeof kill - 1) == 0) {
        kind = RECORDING_KILL;
        i = sizeof kill - 1;
    } else if (len > sizeof revive - 1 && memcmp(line, revive, sizeof revive - 1) == 0) {
        kind = RECORDING_REVIVE;
        i = sizeof revive - 1;
    } else {
        return 0;
    }
    if (parse_digits(line, len, &i, &at) < 0 || i + 1 >= len || len - i - 1 >= VILLAGE_NAME_MAX ||
        memchr(line + i + 1, ' ', len - i - 1) != NULL)
        return 0; /* a comment after all */
    return push_entry(r, at, pos + i + 1, len - i - 1, kind);
}

/* "# end 1234": when the game stopped recording. */
static void parse_end(struct recording *r, const char *line, size_t len)
{
    static const char key[] = "# end ";
    size_t i = sizeof key - 1;
    uint64_t v = 0;

    if (len < i || memcmp(line, key, i) != 0 || len == i || len - i > RECORDING_MS_DIGITS)
        return;
    for (; i < len; i++) {
        if (line[i] < '0' || line[i] > '9')
            return;
        v = v * 10 + (uint64_t)(line[i] - '0');
    }
    r->end_ms = v;
}

/* "# peers a b c": the ini's names, in order. Only the first such line counts. */
static void parse_peers(struct recording *r, const char *line, size_t len)
{
    static const char key[] = "# peers ";
    size_t i = sizeof key - 1;

    if (r->n_peers > 0 || len < i || memcmp(line, key, i) != 0)
        return;
    while (i < len && r->n_peers < VILLAGE_MAX_PEERS) {
        size_t start;
        while (i < len && line[i] == ' ')
            i++;
        start = i;
        while (i < len && line[i] != ' ' && line[i] != '\r')
            i++;
        if (i == start)
            break;
        if (i - start < VILLAGE_NAME_MAX) {
            memcpy(r->peers[r->n_peers], line + start, i - start);
            r->peers[r->n_peers][i - start] = '\0';
        } else {
            r->peers[r->n_peers][0] = '\0'; /* refused when the villagers are named */
        }
        r->n_peers++;
    }
}

int recording_index(struct recording *r, char *data, size_t size)
{
    size_t pos = 0, line_no = 0;
    char why[128];

    r->data = data;
    r->size = r->data_cap = size;
    while (pos < size) {
        const char *nl = memchr(data + pos, '\n', size - pos);
        size_t len = nl ? (size_t)(nl - (data + pos)) : size - pos;
        uint64_t ms;
        size_t off, dlen;
        int rc;

        line_no++;
        if (nl == NULL) {
            /* The recorder ends every line: this one was cut short (a killed game). */
            note_malformed(r, line_no, "the last line is cut short");
            break;
        }
        rc = recording_parse_line(data + pos, len, &ms, &off, &dlen, why, sizeof why);
        if (rc < 0)
            note_malformed(r, line_no, why);
        else if (rc == 0) {
            parse_peers(r, data + pos, len);
            parse_end(r, data + pos, len);
            if (parse_action(r, data + pos, len, pos) < 0)
                return -1;
        } else if (push_entry(r, ms, pos + off, dlen, RECORDING_DATAGRAM) < 0) {
            return -1;
        }
        pos += len + 1;
    }
    return 0;
}

int recording_load(struct recording *r, const char *path, char *err, size_t errlen)
{
    FILE *f;
    struct stat st;
    char *data;
    size_t size, got;

    memset(r, 0, sizeof *r);
    f = fopen(path, "r");
    if (f == NULL) {
        set_err(err, errlen, "--replay %s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
        set_err(err, errlen, "--replay %s: not a regular file", path);
        fclose(f);
        return -1;
    }
    size = (size_t)st.st_size;
    if (size > RECORDING_MAX_BYTES) {
        size = RECORDING_MAX_BYTES;
        r->truncated = true;
    }
    data = malloc(size + 1);
    if (data == NULL) {
        set_err(err, errlen, "--replay %s: out of memory for %zu bytes", path, size);
        fclose(f);
        return -1;
    }
    got = fread(data, 1, size, f);
    if (ferror(f)) {
        set_err(err, errlen, "--replay %s: %s", path, strerror(errno));
        free(data);
        fclose(f);
        return -1;
    }
    fclose(f);
    if (r->truncated) {
        /* Keep whole lines only. */
        while (got > 0 && data[got - 1] != '\n')
            got--;
    }
    if (recording_index(r, data, got) < 0) {
        set_err(err, errlen, "--replay %s: out of memory", path);
        recording_free(r);
        return -1;
    }
    return 0;
}

void recording_free(struct recording *r)
{
    free(r->data);
    free(r->e);
    memset(r, 0, sizeof *r);
}

int recording_append(struct recording *r, uint64_t ms, const char *data, size_t len)
{
    if (len == 0 || len > VILLAGE_DATAGRAM_MAX || r->size + len > RECORDING_MAX_BYTES)
        return -1;
    if (r->size + len > r->data_cap) {
        size_t cap = r->data_cap ? r->data_cap : 1 << 16;
        char *d;
        while (cap < r->size + len)
            cap *= 2;
        d = realloc(r->data, cap);
        if (d == NULL)
            return -1;
        r->data = d;
        r->data_cap = cap;
    }
    if (push_entry(r, ms, r->size, len, RECORDING_DATAGRAM) < 0)
        return -1;
    memcpy(r->data + r->size, data, len);
    r->size += len;
    return 0;
}

uint64_t recording_length_ms(const struct recording *r)
{
    uint64_t last = r->n > 0 ? r->e[r->n - 1].ms : 0;

    return r->end_ms > last ? r->end_ms : last;
}

/* --- playing ---------------------------------------------------------------------------- */

/* After this long with nothing arriving, ticking every REPLAY_TICK_MS changes nothing
 * more (graves are dug after VILLAGE_STALE_MS, messages land sooner): a long silence is
 * crossed in one step. */
#define REPLAY_QUIET_MS (VILLAGE_STALE_MS + 500)

void replay_start(struct replay *p, const struct recording *rec, const struct village_model *m,
                  uint64_t t0)
{
    p->rec = rec;
    p->base = *m;
    p->t = p->t0 = p->last_fed_ms = t0;
    p->next = 0;
    while (p->next < rec->n && rec->e[p->next].ms < t0)
        p->next++;
}

/* The game's own hands, as it used them live: a kill is a grave at once. */
static void apply_action(struct village_model *m, const struct recording_entry *e, const char *data)
{
    char name[VILLAGE_NAME_MAX], text[VILLAGE_FEED_TEXT_MAX];
    int slot;

    memcpy(name, data + e->off, e->len); /* shorter than VILLAGE_NAME_MAX: checked */
    name[e->len] = '\0';
    slot = village_model_find(m, name);
    if (slot < 0)
        return;
    if (e->kind == RECORDING_KILL) {
        village_model_mark_killed(m, slot, e->ms);
        snprintf(text, sizeof text, "%s was killed: its process crashed", name);
    } else {
        village_model_mark_reviving(m, slot, e->ms);
        snprintf(text, sizeof text, "%s is started again", name);
    }
    village_model_feed_add(m, -1, 0, e->ms, text);
}

static void feed_until(struct replay *p, struct village_model *m, uint64_t t)
{
    char err[128];

    while (p->next < p->rec->n && p->rec->e[p->next].ms <= t) {
        const struct recording_entry *e = &p->rec->e[p->next++];
        if (e->kind == RECORDING_DATAGRAM)
            village_model_feed(m, p->rec->data + e->off, e->len, e->ms, err, sizeof err);
        else
            apply_action(m, e, p->rec->data);
        p->last_fed_ms = e->ms;
    }
}

void replay_advance(struct replay *p, struct village_model *m, uint64_t to)
{
    if (to < p->t)
        to = p->t;
    do {
        uint64_t step = p->t + REPLAY_TICK_MS < to ? p->t + REPLAY_TICK_MS : to;
        if (p->t >= p->last_fed_ms + REPLAY_QUIET_MS) {
            uint64_t next = p->next < p->rec->n ? p->rec->e[p->next].ms : UINT64_MAX;
            step = next < to ? next : to;
        }
        feed_until(p, m, step);
        village_model_tick(m, step);
        p->t = step;
    } while (p->t < to);
}

void replay_seek(struct replay *p, struct village_model *m, uint64_t to)
{
    if (to < p->t) {
        *m = p->base;
        p->t = p->last_fed_ms = p->t0;
        p->next = 0;
        while (p->next < p->rec->n && p->rec->e[p->next].ms < p->t0)
            p->next++;
    }
    replay_advance(p, m, to);
}

bool replay_step(struct replay *p, struct village_model *m)
{
    uint64_t lines = m->feed_total;

    while (p->next < p->rec->n) {
        replay_advance(p, m, p->rec->e[p->next].ms);
        if (m->feed_total != lines)
            return true;
    }
    return false;
}

bool replay_at_end(const struct replay *p)
{
    return p->next >= p->rec->n;
}
