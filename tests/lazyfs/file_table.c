/* file_table.c: the files lazyfs tracks, in a list: a peer's data directory holds a few
 * dozen files at most, so a list is fast enough and obviously right. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lazyfs/lazyfs.h"

struct lazy_node *node_find(const char *path)
{
    for (struct lazy_node *n = lazyfs.nodes; n; n = n->next)
        if (n->path && !strcmp(n->path, path))
            return n;
    return NULL;
}

struct lazy_node *node_get(const char *path)
{
    struct lazy_node *n = node_find(path);
    if (n)
        return n;
    n = calloc(1, sizeof(*n));
    if (!n || !(n->path = strdup(path))) {
        free(n);
        return NULL;
    }
    n->next = lazyfs.nodes;
    lazyfs.nodes = n;
    return n;
}

static void unlink_node(struct lazy_node *node)
{
    for (struct lazy_node **p = &lazyfs.nodes; *p; p = &(*p)->next) {
        if (*p == node) {
            *p = node->next;
            break;
        }
    }
    page_cache_free(&node->cache);
    free(node->path);
    free(node);
}

void node_release_if_idle(struct lazy_node *node, int fd)
{
    /* A removed file's unsynced data can never be synced once nobody has it open. */
    if (node->opens == 0 && (!node->path || !page_cache_dirty(&node->cache, fd)))
        unlink_node(node);
}

/* Whether path is under (or is) dir. */
static size_t under(const char *path, const char *dir)
{
    size_t len = strlen(dir);
    if (strncmp(path, dir, len) || (path[len] != 0 && path[len] != '/'))
        return 0;
    return len;
}

void node_removed(const char *path)
{
    struct lazy_node *n = lazyfs.nodes;
    while (n) {
        struct lazy_node *next = n->next;
        if (n->path && under(n->path, path)) {
            free(n->path);
            n->path = NULL;
            node_release_if_idle(n, -1);
        }
        n = next;
    }
}

int node_renamed(const char *from, const char *to)
{
    for (struct lazy_node *n = lazyfs.nodes; n; n = n->next) {
        size_t len;
        if (!n->path || !(len = under(n->path, from)))
            continue;
        size_t rest = strlen(n->path + len);
        char *moved = malloc(strlen(to) + rest + 1);
        if (!moved)
            return -ENOMEM;
        memcpy(moved, to, strlen(to));
        memcpy(moved + strlen(to), n->path + len, rest + 1);
        free(n->path);
        n->path = moved;
    }
    return 0;
}

size_t nodes_unsynced_pages(void)
{
    size_t pages = 0;
    for (struct lazy_node *n = lazyfs.nodes; n; n = n->next)
        pages += n->cache.npages;
    return pages;
}

void nodes_free_all(void)
{
    while (lazyfs.nodes) {
        struct lazy_node *n = lazyfs.nodes;
        lazyfs.nodes = n->next;
        page_cache_free(&n->cache);
        free(n->path);
        free(n);
    }
}
