/* copies.c: deep copies of entries and messages, which a ready only lends. */
#include "tests/scenario/copies.h"

#include <stdlib.h>
#include <string.h>

#include "tests/scenario/bounds.h"

void entry_free(struct raft_entry *e)
{
    free(e->data);
    e->data = NULL;
}

int entry_copy(struct raft_entry *dst, const struct raft_entry *src)
{
    *dst = *src;
    dst->data = NULL;
    if (src->len == 0)
        return 0;
    if (!src->data)
        return -1;
    dst->data = malloc(src->len);
    if (!dst->data)
        abort();
    memcpy(dst->data, src->data, src->len);
    return 0;
}

void message_free(struct raft_message *m)
{
    if (m->type == RAFT_MSG_APPEND_ENTRIES) {
        for (uint32_t i = 0; i < m->u.append_entries.n_entries; i++)
            entry_free(&m->u.append_entries.entries[i]);
        free(m->u.append_entries.entries);
        m->u.append_entries.entries = NULL;
        m->u.append_entries.n_entries = 0;
    }
}

int message_copy(struct raft_message *dst, const struct raft_message *src)
{
    *dst = *src;
    if (src->type != RAFT_MSG_APPEND_ENTRIES)
        return 0;
    uint32_t n = src->u.append_entries.n_entries;
    dst->u.append_entries.entries = NULL;
    dst->u.append_entries.n_entries = 0;
    if (n == 0)
        return 0;
    if (n > SC_MAX_LOG || !src->u.append_entries.entries)
        return -1;
    struct raft_entry *es = calloc(n, sizeof(*es));
    if (!es)
        abort();
    for (uint32_t i = 0; i < n; i++) {
        if (entry_copy(&es[i], &src->u.append_entries.entries[i]) != 0) {
            for (uint32_t j = 0; j < i; j++)
                entry_free(&es[j]);
            free(es);
            return -1;
        }
    }
    dst->u.append_entries.entries = es;
    dst->u.append_entries.n_entries = n;
    return 0;
}

void wire_free(struct wire *w)
{
    if (w->kind == WIRE_RAFT)
        message_free(&w->m);
    free(w->s.state);
    w->s.state = NULL;
}

int wire_copy(struct wire *dst, const struct wire *src)
{
    *dst = *src;
    dst->s.state = NULL;
    if (src->kind == WIRE_RAFT)
        return message_copy(&dst->m, &src->m);
    if (src->s.state) {
        dst->s.state = strdup(src->s.state);
        if (!dst->s.state)
            abort();
    }
    return 0;
}

raft_id wire_leader(const struct wire *w)
{
    return w->kind == WIRE_SNAPSHOT_RESULT ? w->to : w->from;
}

raft_id wire_follower(const struct wire *w)
{
    return w->kind == WIRE_SNAPSHOT_RESULT ? w->from : w->to;
}
