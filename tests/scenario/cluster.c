/* cluster.c: the in-memory cluster as a whole: boot, teardown, failure messages. */
#include "tests/scenario/cluster.h"

#include <stdio.h>
#include <stdlib.h>

#include "tests/scenario/copies.h"
#include "tests/scenario/disk.h"
#include "tests/scenario/network.h"
#include "tests/scenario/peer.h"

int fail(struct cluster *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof(c->err), fmt, ap);
    va_end(ap);
    return -1;
}

bool peer_up(const struct cluster *c, raft_id id)
{
    return id >= 1 && id <= c->n && c->peers[id].r != NULL;
}

int cluster_boot(struct cluster *c)
{
    if (c->booted)
        return 0;
    if (c->n == 0)
        return fail(c, "no cluster: start the file with `cluster N`");
    c->booted = true;
    for (int id = 1; id <= c->n; id++)
        if (peer_boot(c, &c->peers[id]) != 0)
            return -1;
    return 0;
}

void cluster_free(struct cluster *c)
{
    for (int id = 1; id <= c->n; id++) {
        struct peer *p = &c->peers[id];
        raft_free(p->r);
        p->r = NULL;
        disk_free(&p->disk);
        text_free(&p->cmds);
        for (size_t k = 0; k < p->n_held; k++)
            held_free(&p->held[k]);
        free(p->held);
    }
    for (size_t i = 0; i < c->qlen; i++)
        wire_free(&c->queue[i].w);
    free(c->queue);
    free(c->leader_of_term);
    free(c->committed);
}
