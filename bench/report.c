/* report.c: see report.h. */
#include "bench/report.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

static void put_int(struct json_object *o, const char *k, int64_t v)
{
    json_object_object_add(o, k, json_object_new_int64(v));
}

struct json_object *report_new(const struct bench_options *o)
{
    struct json_object *obj = json_object_new_object();
    if (!obj)
        return NULL;
    json_object_object_add(obj, "mode", json_object_new_string(options_mode_name(o->mode)));
    if (o->label)
        json_object_object_add(obj, "label", json_object_new_string(o->label));
    put_int(obj, "peers", o->peers);
    if (o->config) {
        json_object_object_add(obj, "config", json_object_new_string(o->config));
    } else {
        put_int(obj, "election_timeout_min", o->timeout_min);
        put_int(obj, "election_timeout_max", o->timeout_max);
        put_int(obj, "heartbeat_interval", o->heartbeat);
        json_object_object_add(obj, "log_level", json_object_new_string(o->log_level));
    }
    /* The machine is shared: its load says how much the figures can be trusted. */
    FILE *la = fopen("/proc/loadavg", "r");
    double load1;
    if (la) {
        if (fscanf(la, "%lf", &load1) == 1)
            json_object_object_add(obj, "loadavg1", json_object_new_double(load1));
        fclose(la);
    }
    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm) && strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm))
        json_object_object_add(obj, "time", json_object_new_string(when));
    return obj;
}

struct json_object *report_latency(struct latency *l)
{
    struct json_object *obj = json_object_new_object();
    if (!obj)
        return NULL;
    put_int(obj, "n", (int64_t)l->n);
    put_int(obj, "min", (int64_t)latency_min(l));
    put_int(obj, "p50", (int64_t)latency_percentile(l, 50));
    put_int(obj, "p99", (int64_t)latency_percentile(l, 99));
    put_int(obj, "p999", (int64_t)latency_percentile(l, 99.9));
    put_int(obj, "max", (int64_t)latency_max(l));
    json_object_object_add(obj, "mean", json_object_new_double(latency_mean(l)));
    if (l->lost)
        put_int(obj, "lost", (int64_t)l->lost);
    return obj;
}

int report_emit(const struct bench_options *o, struct json_object *obj, char *err, size_t errlen)
{
    int rc = 0;
    if (o->json)
        printf("%s\n", json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PRETTY |
                                                               JSON_C_TO_STRING_NOSLASHESCAPE));
    if (o->json_file) {
        FILE *f = fopen(o->json_file, "a");
        if (!f) {
            snprintf(err, errlen, "%s: %s", o->json_file, strerror(errno));
            rc = -1;
        } else {
            fprintf(f, "%s\n",
                    json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
                                                            JSON_C_TO_STRING_NOSLASHESCAPE));
            if (fclose(f) != 0) {
                snprintf(err, errlen, "%s: %s", o->json_file, strerror(errno));
                rc = -1;
            }
        }
    }
    json_object_put(obj);
    fflush(stdout);
    return rc;
}

const char *report_ms(char buf[32], double us)
{
    snprintf(buf, 32, "%.3f", us / 1000.0);
    return buf;
}
