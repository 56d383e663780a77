/* report.h: what every mode shares when it reports: JSON output and a few table helpers. */
#ifndef BENCH_REPORT_H
#define BENCH_REPORT_H

#include <stdio.h>

#include "bench/latency.h"
#include "bench/options.h"

struct json_object;

/* A new object with the fields every result carries: mode, label, peers, timeouts,
 * heartbeat, log level, and a wall-clock timestamp. NULL when out of memory. */
struct json_object *report_new(const struct bench_options *o);

/* {"n":..,"min":..,"p50":..,"p99":..,"p999":..,"max":..,"mean":..} in microseconds. */
struct json_object *report_latency(struct latency *l);

/* Prints obj as JSON on stdout when --json was given, and appends it as one line to
 * --json-file when given. Takes ownership of obj. 0, or -1 with err (file trouble). */
int report_emit(const struct bench_options *o, struct json_object *obj, char *err, size_t errlen);

/* Microseconds as milliseconds with 3 decimals, into a small buffer, for tables. */
const char *report_ms(char buf[32], double us);

#endif
