/* replies.c: answers on accepted connections (replies.h). The struct peer argument of
 * conn_send and conn_lookup is what their callers have at hand; the transport needs only
 * the connection, or the table. */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "raft_peer/peer.h"
#include "raft_peer/replies.h"

int conn_send(struct peer *p, struct conn *c, const char *data, size_t len)
{
    (void)p;
    return conn_write(c, data, len);
}

int conn_send_json(struct peer *p, struct conn *c, struct json_object *o)
{
    size_t len;
    const char *s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
    int rc = -1;
    char *line = malloc(len + 1);
    if (line) {
        memcpy(line, s, len);
        line[len] = '\n'; /* one send: the object and its newline, or nothing */
        rc = conn_send(p, c, line, len + 1);
        free(line);
    }
    json_object_put(o);
    return rc;
}

struct conn *conn_lookup(struct peer *p, int fd, uint64_t id)
{
    return p->conns ? conn_table_lookup(p->conns, fd, id) : NULL;
}

void control_respond(struct peer *p, struct conn *c, bool ok, const char *message,
                     void (*add_state)(const struct peer *p, struct json_object *o))
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "type", json_object_new_string("control_response"));
    json_object_object_add(o, "ok", json_object_new_boolean(ok));
    if (!ok)
        json_object_object_add(o, "error", json_object_new_string("bad_request"));
    json_object_object_add(o, "message", json_object_new_string(message));
    json_object_object_add(o, "peer", json_object_new_string(p->names[p->self - 1]));
    if (ok)
        add_state(p, o);
    conn_send_json(p, c, o);
}
