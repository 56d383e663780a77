/* village_model.c: the game's picture of the cluster: villagers, their life and death,
 * messages in the air and the feed. The stream's datagrams are parsed in
 * village_parse.c, the picture is dumped as JSON in village_dump.c. */
#include "visualization/village_model.h"
#include "visualization/village_model_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const role_names[] = {
    [VILLAGE_ROLE_UNKNOWN] = "unknown",
    [VILLAGE_FOLLOWER] = "follower",
    [VILLAGE_PRE_CANDIDATE] = "pre_candidate",
    [VILLAGE_CANDIDATE] = "candidate",
    [VILLAGE_LEADER] = "leader",
};

static const char *const rpc_names[] = {
    [VILLAGE_RPC_APPEND_ENTRIES] = "append_entries",
    [VILLAGE_RPC_APPEND_ENTRIES_RESULT] = "append_entries_result",
    [VILLAGE_RPC_REQUEST_VOTE] = "request_vote",
    [VILLAGE_RPC_REQUEST_VOTE_RESULT] = "request_vote_result",
    [VILLAGE_RPC_TIMEOUT_NOW] = "timeout_now",
};

const char *village_role_name(enum village_role role)
{
    if ((unsigned)role >= sizeof role_names / sizeof role_names[0])
        return "unknown";
    return role_names[role];
}

const char *village_life_name(enum village_life life)
{
    switch (life) {
    case VILLAGE_ALIVE:
        return "alive";
    case VILLAGE_GRAVE:
        return "grave";
    case VILLAGE_ABSENT:
        break;
    }
    return "absent";
}

const char *village_rpc_name(enum village_rpc rpc)
{
    if ((unsigned)rpc >= sizeof rpc_names / sizeof rpc_names[0])
        return "unknown";
    return rpc_names[rpc];
}

/* Peer names follow the ini's section rule: [A-Za-z0-9_-]{1,32}. */
bool village_valid_peer_name(const char *s)
{
    size_t n = 0;

    for (; s[n] != '\0'; n++) {
        char c = s[n];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-';
        if (!ok || n + 1 >= VILLAGE_NAME_MAX)
            return false;
    }
    return n > 0;
}

void village_model_init(struct village_model *m)
{
    memset(m, 0, sizeof *m);
    for (int i = 0; i < VILLAGE_MAX_PEERS; i++)
        m->peers[i].id = i + 1;
}

void village_model_recompute_n(struct village_model *m)
{
    int n;

    if (m->n_fixed)
        return;
    n = m->n_heard > 0 ? m->n_heard : m->n_from_file;
    if (village_model_extent(m) > n)
        n = village_model_extent(m);
    m->n = n > VILLAGE_MAX_PEERS ? VILLAGE_MAX_PEERS : n;
}

int village_model_add_peer(struct village_model *m, int id, const char *name)
{
    struct village_peer *p;

    if (id < 1 || name == NULL || !village_valid_peer_name(name))
        return -1;
    if (id > VILLAGE_MAX_PEERS) {
        /* Still counted, so "the number of peers in the file" stays true. */
        if (id > m->n_from_file)
            m->n_from_file = id;
        village_model_recompute_n(m);
        return 0;
    }
    {
        int other = village_model_find(m, name);
        if (other >= 0 && other != id - 1)
            return -1; /* the same name twice */
    }
    p = &m->peers[id - 1];
    snprintf(p->name, sizeof p->name, "%s", name);
    if (id > m->n_from_file)
        m->n_from_file = id;
    village_model_recompute_n(m);
    return 0;
}

void village_model_set_n(struct village_model *m, int n)
{
    if (n <= 0) {
        m->n_fixed = false;
        village_model_recompute_n(m);
        return;
    }
    m->n_fixed = true;
    m->n = n > VILLAGE_MAX_PEERS ? VILLAGE_MAX_PEERS : n;
}

int village_model_find(const struct village_model *m, const char *name)
{
    if (name == NULL || name[0] == '\0')
        return -1;
    for (int i = 0; i < VILLAGE_MAX_PEERS; i++)
        if (strcmp(m->peers[i].name, name) == 0)
            return i;
    return -1;
}

int village_model_leader(const struct village_model *m)
{
    int best = -1;

    for (int i = 0; i < m->n; i++) {
        const struct village_peer *p = &m->peers[i];
        if (p->life != VILLAGE_ALIVE || p->role != VILLAGE_LEADER)
            continue;
        if (best < 0 || p->term > m->peers[best].term)
            best = i;
    }
    return best;
}

int village_model_alive_count(const struct village_model *m)
{
    int k = 0;

    for (int i = 0; i < m->n; i++)
        k += m->peers[i].life == VILLAGE_ALIVE;
    return k;
}

bool village_model_is_member(const struct village_model *m, int slot, bool voters_only)
{
    uint32_t mask = voters_only ? m->voters : (uint32_t)(m->voters | m->learners);

    return !m->membership_seen || (mask >> slot & 1u) != 0;
}

int village_model_members(const struct village_model *m, bool voters_only, int *alive)
{
    int members = 0, awake = 0;

    for (int i = 0; i < m->n; i++) {
        if (!village_model_is_member(m, i, voters_only))
            continue;
        members++;
        awake += m->peers[i].life == VILLAGE_ALIVE;
    }
    if (alive)
        *alive = awake;
    return members;
}

/* Copies text into a feed line, replacing control characters so the feed cannot be
 * garbled, and never leaving half a UTF-8 character at the cut. */
static void copy_feed_text(char *dst, size_t cap, const char *src)
{
    size_t j = 0, lead;
    unsigned char c;

    for (; src[j] != '\0' && j + 1 < cap; j++) {
        c = (unsigned char)src[j];
        dst[j] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
    }
    dst[j] = '\0';
    if (src[j] == '\0' || j == 0)
        return;
    /* Cut: drop a trailing sequence that lost some of its continuation bytes. */
    lead = j;
    while (lead > 0 && ((unsigned char)dst[lead - 1] & 0xc0) == 0x80)
        lead--;
    if (lead == 0)
        return;
    c = (unsigned char)dst[lead - 1];
    if (c >= 0xc0) {
        size_t need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
        if (j - (lead - 1) < need)
            dst[lead - 1] = '\0';
    }
}

void village_model_feed_add(struct village_model *m, int slot, uint64_t term, uint64_t now_ms,
                            const char *text)
{
    struct village_feed_line *line;
    int idx;

    if (m->n_feed < VILLAGE_FEED_LINES) {
        idx = (m->feed_head + m->n_feed) % VILLAGE_FEED_LINES;
        m->n_feed++;
    } else {
        idx = m->feed_head;
        m->feed_head = (m->feed_head + 1) % VILLAGE_FEED_LINES;
    }
    line = &m->feed[idx];
    line->time_ms = now_ms;
    line->slot = slot;
    line->term = term;
    copy_feed_text(line->text, sizeof line->text, text ? text : "");
    m->feed_total++;
}

static void feed_addf(struct village_model *m, int slot, uint64_t term, uint64_t now_ms,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void feed_addf(struct village_model *m, int slot, uint64_t term, uint64_t now_ms,
                      const char *fmt, ...)
{
    char text[VILLAGE_FEED_TEXT_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    village_model_feed_add(m, slot, term, now_ms, text);
}

const struct village_feed_line *village_model_feed_line(const struct village_model *m, int i)
{
    if (i < 0 || i >= m->n_feed)
        return NULL;
    return &m->feed[(m->feed_head + i) % VILLAGE_FEED_LINES];
}

const struct village_flight *village_model_flight(const struct village_model *m, int i)
{
    if (i < 0 || i >= m->n_flights)
        return NULL;
    return &m->flights[(m->flight_head + i) % VILLAGE_MAX_FLIGHTS];
}

void village_model_note_alive(struct village_model *m, int slot, const struct village_peer *old,
                              long pid, uint64_t now_ms)
{
    struct village_peer *p = &m->peers[slot];

    if (old->life == VILLAGE_ALIVE && old->pid != 0 && pid != 0 && old->pid != pid) {
        p->life_since_ms = now_ms;
        feed_addf(m, slot, p->term, now_ms, "%s restarted (pid %ld)", p->name, pid);
    } else if (old->life == VILLAGE_GRAVE) {
        p->life = VILLAGE_ALIVE;
        p->life_since_ms = now_ms;
        feed_addf(m, slot, p->term, now_ms, "%s rises from the grave", p->name);
    } else if (old->life == VILLAGE_ABSENT) {
        p->life_since_ms = now_ms;
        feed_addf(m, slot, p->term, now_ms, "%s joins the village", p->name);
    }
    p->life = VILLAGE_ALIVE;
    p->reviving = false;
}

void village_model_push_flight(struct village_model *m, const struct village_flight *f)
{
    int idx;

    if (m->n_flights < VILLAGE_MAX_FLIGHTS) {
        idx = (m->flight_head + m->n_flights) % VILLAGE_MAX_FLIGHTS;
        m->n_flights++;
    } else {
        idx = m->flight_head;
        m->flight_head = (m->flight_head + 1) % VILLAGE_MAX_FLIGHTS;
    }
    m->flights[idx] = *f;
    if (m->flights[idx].flight_ms < VILLAGE_FLIGHT_MS)
        m->flights[idx].flight_ms = VILLAGE_FLIGHT_MS; /* the demo's, and the tests' */
}

/* --- time and the game's own actions ----------------------------------------------- */

#define REVIVE_GIVE_UP_MS 10000

static void watch_faults(struct village_model *m, uint64_t now_ms);

void village_model_tick(struct village_model *m, uint64_t now_ms)
{
    for (int i = 0; i < VILLAGE_MAX_PEERS; i++) {
        struct village_peer *p = &m->peers[i];
        if (p->life == VILLAGE_ALIVE && now_ms > p->last_heard_ms + VILLAGE_STALE_MS) {
            p->life = VILLAGE_GRAVE;
            p->life_since_ms = now_ms;
            if (!p->left) /* a removed peer exits: not news, it has left already */
                feed_addf(m, i, p->term, now_ms, "%s fell silent: a grave now", p->name);
        }
        if (p->reviving && now_ms > p->revive_asked_ms + REVIVE_GIVE_UP_MS) {
            p->reviving = false;
            feed_addf(m, i, p->term, now_ms, "%s did not come back; see logs/%s.log", p->name,
                      p->name);
        }
    }
    while (m->n_flights > 0) {
        const struct village_flight *f = &m->flights[m->flight_head];
        /* Landed results linger a moment so the green or red flash is seen. Flights
         * leave in the order they came: a long one delays the removal of shorter ones
         * behind it, which are drawn no more once landed. */
        if (now_ms < f->start_ms + f->flight_ms + 250)
            break;
        m->flight_head = (m->flight_head + 1) % VILLAGE_MAX_FLIGHTS;
        m->n_flights--;
    }
    watch_faults(m, now_ms);
}

void village_model_mark_killed(struct village_model *m, int slot, uint64_t now_ms)
{
    struct village_peer *p;

    if (slot < 0 || slot >= VILLAGE_MAX_PEERS)
        return;
    p = &m->peers[slot];
    p->life = VILLAGE_GRAVE;
    p->life_since_ms = now_ms;
    p->kill_grace_until_ms = now_ms + VILLAGE_KILL_GRACE_MS;
    p->reviving = false;
}

void village_model_mark_reviving(struct village_model *m, int slot, uint64_t now_ms)
{
    if (slot < 0 || slot >= VILLAGE_MAX_PEERS)
        return;
    m->peers[slot].reviving = true;
    m->peers[slot].revive_asked_ms = now_ms;
    m->peers[slot].kill_grace_until_ms = 0;
    village_model_recompute_n(m); /* a newcomer the game starts is shown as it boots */
}

/* --- network faults: cut roads and stale leaders ------------------------------------- */

bool village_model_cut(const struct village_model *m, int a, int b)
{
    if (a < 0 || b < 0 || a >= m->n || b >= m->n || a == b)
        return false;
    return (m->peers[a].life == VILLAGE_ALIVE && (m->peers[a].cut_to >> b & 1u)) ||
           (m->peers[b].life == VILLAGE_ALIVE && (m->peers[b].cut_from >> a & 1u));
}

int village_model_road(const struct village_model *m, int a, int b)
{
    return (village_model_cut(m, a, b) ? 1 : 0) | (village_model_cut(m, b, a) ? 2 : 0);
}

int village_model_cut_roads(const struct village_model *m)
{
    int k = 0;

    for (int a = 0; a < m->n; a++)
        for (int b = a + 1; b < m->n; b++)
            k += village_model_road(m, a, b) != 0;
    return k;
}

bool village_model_leader_stale(const struct village_model *m, int slot)
{
    int reach = 1;

    if (slot < 0 || slot >= m->n || m->peers[slot].life != VILLAGE_ALIVE ||
        m->peers[slot].role != VILLAGE_LEADER || m->n < 2)
        return false;
    for (int b = 0; b < m->n; b++)
        if (b != slot && m->peers[b].life == VILLAGE_ALIVE && village_model_road(m, slot, b) == 0)
            reach++;
    return reach * 2 <= m->n;
}

/* Appends to out (cap bytes), never past the end. */
static void append(char *out, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void append(char *out, size_t cap, const char *fmt, ...)
{
    size_t n = strlen(out);
    va_list ap;

    if (n + 1 >= cap)
        return;
    va_start(ap, fmt);
    vsnprintf(out + n, cap - n, fmt, ap);
    va_end(ap);
}

/* Sides of the village: villagers joined by open roads (both ways). side[i] is the side
 * of i, the return value how many there are. */
static int sides(const struct village_model *m, int *side)
{
    int k = 0;

    for (int i = 0; i < m->n; i++)
        side[i] = -1;
    for (int i = 0; i < m->n; i++) {
        int stack[VILLAGE_MAX_PEERS], top = 0;
        if (side[i] >= 0)
            continue;
        side[i] = k;
        stack[top++] = i;
        while (top > 0) {
            int a = stack[--top];
            for (int b = 0; b < m->n; b++)
                if (side[b] < 0 && village_model_road(m, a, b) == 0) {
                    side[b] = k;
                    stack[top++] = b;
                }
        }
        k++;
    }
    return k;
}

void village_model_describe_roads(const struct village_model *m, char *out, size_t cap)
{
    int side[VILLAGE_MAX_PEERS], k, size[VILLAGE_MAX_PEERS] = {0};
    bool clean = true;

    out[0] = '\0';
    if (village_model_cut_roads(m) == 0) {
        append(out, cap, "healed: every road is open");
        return;
    }
    k = sides(m, side);
    /* A clean split: every road inside a side open, every road across cut both ways. */
    for (int a = 0; a < m->n; a++) {
        size[side[a]]++;
        for (int b = a + 1; b < m->n; b++) {
            int r = village_model_road(m, a, b);
            if ((side[a] == side[b]) != (r == 0) || (side[a] != side[b] && r != 3))
                clean = false;
        }
    }
    if (clean && k == 2 && (size[0] == 1 || size[1] == 1)) {
        int lone = size[0] == 1 ? 0 : 1, x = -1, others = 0, told = 0;
        for (int i = 0; i < m->n; i++) {
            if (side[i] == lone)
                x = i;
            else
                others++;
        }
        append(out, cap, "%s is cut off from ", m->peers[x].name);
        for (int i = 0; i < m->n; i++) {
            if (i == x)
                continue;
            told++;
            append(out, cap, "%s%s",
                   told == 1        ? ""
                   : told == others ? " and "
                                    : ", ",
                   m->peers[i].name);
        }
        return;
    }
    if (clean && k >= 2) {
        append(out, cap, "the village is split:");
        for (int s = 0; s < k; s++) {
            bool first = true;
            append(out, cap, "%s{", s ? " | " : " ");
            for (int i = 0; i < m->n; i++)
                if (side[i] == s) {
                    append(out, cap, "%s%s", first ? "" : ", ", m->peers[i].name);
                    first = false;
                }
            append(out, cap, "}");
        }
        return;
    }
    append(out, cap, "roads cut:");
    {
        bool first = true;
        for (int a = 0; a < m->n; a++)
            for (int b = a + 1; b < m->n; b++) {
                int r = village_model_road(m, a, b);
                if (r == 0)
                    continue;
                append(out, cap, "%s%s%s%s", first ? " " : ", ", m->peers[r == 2 ? b : a].name,
                       r == 3 ? "-" : " -> ", m->peers[r == 2 ? a : b].name);
                first = false;
            }
    }
}

/* Called every tick: tells the feed of a new set of cut roads once the peers agree, and
 * of leaders that lose or regain their majority. */
static void watch_faults(struct village_model *m, uint64_t now_ms)
{
    uint16_t roads[VILLAGE_MAX_PEERS] = {0};

    for (int a = 0; a < m->n; a++)
        for (int b = 0; b < m->n; b++)
            if (village_model_cut(m, a, b))
                roads[a] |= (uint16_t)(1u << b);
    if (memcmp(roads, m->roads_now, sizeof roads) != 0) {
        memcpy(m->roads_now, roads, sizeof roads);
        m->roads_changed_ms = now_ms;
    }
    if (memcmp(m->roads_now, m->roads_told, sizeof roads) != 0 &&
        now_ms >= m->roads_changed_ms + VILLAGE_ROADS_SETTLE_MS) {
        char text[VILLAGE_FEED_TEXT_MAX];
        village_model_describe_roads(m, text, sizeof text);
        village_model_feed_add(m, -1, 0, now_ms, text);
        memcpy(m->roads_told, m->roads_now, sizeof roads);
    }
    for (int i = 0; i < VILLAGE_MAX_PEERS; i++) {
        struct village_peer *p = &m->peers[i];
        bool stale = village_model_leader_stale(m, i);
        if (stale && !p->stale_leader)
            feed_addf(m, i, p->term, now_ms,
                      "%s still wears the crown but cannot reach a majority: a stale leader, "
                      "it cannot commit",
                      p->name);
        else if (!stale && p->stale_leader && p->life == VILLAGE_ALIVE && p->role == VILLAGE_LEADER)
            feed_addf(m, i, p->term, now_ms, "%s reaches a majority again", p->name);
        p->stale_leader = stale;
    }
}
