/* sim_network.c: message copies and the fate of each message in flight. */
#include "sim_network.h"

#include <stdio.h>
#include <string.h>

#include "sim_alloc.h"

/* Far above anything the cores send in a simulation; a larger value means the core
 * built a corrupt message. */
#define SIM_MSG_MAX_ENTRIES     100000u
#define SIM_MSG_MAX_ENTRY_BYTES (1u << 20)

static int check_shape(const struct raft_message *m, int n_peers, size_t *n_ent, size_t *bytes,
                       char *err, size_t errlen)
{
    *n_ent = 0;
    *bytes = 0;
    if (m->type < RAFT_MSG_REQUEST_VOTE || m->type > RAFT_MSG_TIMEOUT_NOW) {
        snprintf(err, errlen, "message of unknown type %d", (int)m->type);
        return -1;
    }
    if (m->from < 1 || m->from > n_peers || m->to < 1 || m->to > n_peers || m->from == m->to) {
        snprintf(err, errlen, "%s with from=%d to=%d", raft_message_type_name(m->type), m->from,
                 m->to);
        return -1;
    }
    if (m->type != RAFT_MSG_APPEND_ENTRIES)
        return 0;
    const struct raft_append_entries *ae = &m->u.append_entries;
    if (ae->n_entries > SIM_MSG_MAX_ENTRIES || (ae->n_entries > 0 && !ae->entries)) {
        snprintf(err, errlen, "AppendEntries with n_entries=%u entries=%p", ae->n_entries,
                 (void *)ae->entries);
        return -1;
    }
    for (uint32_t i = 0; i < ae->n_entries; i++) {
        const struct raft_entry *e = &ae->entries[i];
        if (e->len > SIM_MSG_MAX_ENTRY_BYTES || (e->len > 0 && !e->data) ||
            (e->type != RAFT_ENTRY_COMMAND && e->type != RAFT_ENTRY_NOOP &&
             e->type != RAFT_ENTRY_CONFIG)) {
            snprintf(err, errlen, "AppendEntries entry %u: type %u len %u data %p", i,
                     (unsigned)e->type, e->len, (void *)e->data);
            return -1;
        }
        *bytes += e->len;
    }
    *n_ent = ae->n_entries;
    return 0;
}

struct raft_message *sim_msg_clone(const struct raft_message *m, int n_peers, char *err,
                                   size_t errlen)
{
    size_t n_ent, bytes;
    if (check_shape(m, n_peers, &n_ent, &bytes, err, errlen) != 0)
        return NULL;
    /* struct raft_message and struct raft_entry both have 8-byte alignment, so the
     * entries array can follow the header directly and the bytes follow the array. */
    size_t size = sizeof(*m) + n_ent * sizeof(struct raft_entry) + bytes;
    char *block = sim_xmalloc(size);
    struct raft_message *c = (struct raft_message *)block;
    *c = *m;
    if (m->type == RAFT_MSG_APPEND_ENTRIES) {
        struct raft_entry *ents = (struct raft_entry *)(block + sizeof(*m));
        uint8_t *data = (uint8_t *)(ents + n_ent);
        for (size_t i = 0; i < n_ent; i++) {
            const struct raft_entry *src = &m->u.append_entries.entries[i];
            ents[i] = *src;
            if (src->len) {
                memcpy(data, src->data, src->len);
                ents[i].data = data;
                data += src->len;
            } else {
                ents[i].data = NULL;
            }
        }
        c->u.append_entries.entries = n_ent ? ents : NULL;
    }
    return c;
}

bool sim_net_connected(const struct sim_net *net, int from, int to)
{
    if (from < 1 || from >= SIM_NET_MAX || to < 1 || to >= SIM_NET_MAX)
        return false;
    return !net->cut[from][to];
}

static raft_time one_delay(const struct sim_net *net, struct sim_rng *rng)
{
    if (sim_rng_chance(rng, net->slow_ppm))
        return sim_rng_range(rng, net->delay_max, net->slow_max);
    return sim_rng_range(rng, net->delay_min, net->delay_max);
}

int sim_net_route(const struct sim_net *net, struct sim_rng *rng, int from, int to,
                  raft_time delay[2])
{
    if (!sim_net_connected(net, from, to))
        return 0;
    int copies = 0;
    if (!sim_rng_chance(rng, net->loss_ppm))
        delay[copies++] = one_delay(net, rng);
    if (sim_rng_chance(rng, net->dup_ppm))
        delay[copies++] = one_delay(net, rng);
    return copies;
}

void sim_net_heal(struct sim_net *net)
{
    memset(net->cut, 0, sizeof(net->cut));
}

static void split(struct sim_net *net, unsigned mask, int bridge)
{
    for (int a = 1; a <= net->n; a++)
        for (int b = 1; b <= net->n; b++) {
            bool sa = mask & (1u << a), sb = mask & (1u << b);
            if (sa != sb && a != bridge && b != bridge)
                net->cut[a][b] = true;
        }
}

/* A random side of k nodes. */
static unsigned random_group(struct sim_rng *rng, int n, int k)
{
    unsigned mask = 0;
    int chosen = 0;
    while (chosen < k) {
        int id = 1 + (int)sim_rng_below(rng, (uint64_t)n);
        if (!(mask & (1u << id))) {
            mask |= 1u << id;
            chosen++;
        }
    }
    return mask;
}

void sim_net_split_with(struct sim_net *net, struct sim_rng *rng, int node, struct sim_part *what)
{
    sim_net_heal(net);
    memset(what, 0, sizeof(*what));
    what->kind = SIM_PART_SPLIT;
    what->mask = 1u << node;
    int others = (int)sim_rng_below(rng, (uint64_t)(net->n - 1));
    while (others > 0) {
        int id = 1 + (int)sim_rng_below(rng, (uint64_t)net->n);
        if (!(what->mask & (1u << id))) {
            what->mask |= 1u << id;
            others--;
        }
    }
    split(net, what->mask, 0);
}

void sim_net_partition(struct sim_net *net, struct sim_rng *rng, struct sim_part *what)
{
    int n = net->n;
    sim_net_heal(net);
    memset(what, 0, sizeof(*what));
    what->kind = 1 + (int)sim_rng_below(rng, 5);
    switch (what->kind) {
    case SIM_PART_ISOLATE:
        what->a = 1 + (int)sim_rng_below(rng, (uint64_t)n);
        what->mask = 1u << what->a;
        split(net, what->mask, 0);
        break;
    case SIM_PART_ONE_WAY:
        what->a = 1 + (int)sim_rng_below(rng, (uint64_t)n);
        do {
            what->b = 1 + (int)sim_rng_below(rng, (uint64_t)n);
        } while (what->b == what->a);
        net->cut[what->a][what->b] = true;
        break;
    case SIM_PART_SPLIT:
    case SIM_PART_BRIDGE:
        /* Any side size from 1 to n/2: the other side is then a majority or, for even
         * splits of the bridge case, neither side is. */
        what->mask = random_group(rng, n, 1 + (int)sim_rng_below(rng, (uint64_t)(n / 2)));
        if (what->kind == SIM_PART_BRIDGE)
            what->a = 1 + (int)sim_rng_below(rng, (uint64_t)n);
        split(net, what->mask, what->a);
        break;
    default:
        for (int a = 1; a <= n; a++)
            for (int b = 1; b <= n; b++)
                if (a != b && sim_rng_chance(rng, 250000))
                    net->cut[a][b] = true;
        break;
    }
}

void sim_msg_corrupt(struct raft_message *m, struct sim_rng *rng, int n_peers)
{
    switch (sim_rng_below(rng, 5)) {
    case 0:
        m->from = 0;
        break;
    case 1:
        /* A core takes messages from any peer id (a member it may not know of yet),
         * so a bad sender is one outside every possible id. */
        (void)n_peers;
        m->from = RAFT_MAX_PEERS + 1 + (int)sim_rng_below(rng, 100);
        break;
    case 2:
        m->from = -1 - (int)sim_rng_below(rng, 1000);
        break;
    case 3:
        m->from = m->to;
        break;
    default:
        m->type = (enum raft_message_type)(sim_rng_below(rng, 2) ? 0 : 6 + sim_rng_below(rng, 90));
        break;
    }
}
