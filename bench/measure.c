/* measure.c: see measure.h. */
#include "bench/measure.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bench/setup.h"

/* bench_read_schedstat summed over every thread of pid: our peers have one, etcd (Go)
 * runs its work on many. Threads that exited during the run are lost from the sums. */
static int read_schedstat_threads(int pid, uint64_t *cpu_ns, uint64_t *wait_ns)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/task", pid);
    DIR *d = opendir(path);
    if (!d)
        return bench_read_schedstat(pid, cpu_ns, wait_ns);
    *cpu_ns = *wait_ns = 0;
    int found = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        char *end;
        long tid = strtol(de->d_name, &end, 10);
        uint64_t cpu, wait;
        if (*end || tid <= 0 || bench_read_schedstat((int)tid, &cpu, &wait) != 0)
            continue;
        *cpu_ns += cpu;
        *wait_ns += wait;
        found++;
    }
    closedir(d);
    return found ? 0 : -1;
}

int measure_run(load_fn fn, const struct load_options *lo, const int *pids,
                const char *const *names, int n, struct measure *m, char *err, size_t errlen)
{
    memset(m, 0, sizeof(*m));
    /* CPU time and run-queue wait of every process involved, over the whole run: on a
     * shared machine they tell whether the cluster or the neighbours set the pace. */
    int all[LOAD_MAX_TARGETS + 1];
    uint64_t cpu0[LOAD_MAX_TARGETS + 1], wait0[LOAD_MAX_TARGETS + 1];
    int n_all = 0;
    all[n_all++] = (int)getpid();
    for (int i = 0; i < n && n_all <= LOAD_MAX_TARGETS; i++)
        all[n_all++] = pids[i];
    for (int i = 0; i < n_all; i++)
        if (read_schedstat_threads(all[i], &cpu0[i], &wait0[i]) != 0)
            cpu0[i] = wait0[i] = 0;
    uint64_t t0 = bench_now_us();
    if (fn(lo, &m->r, err, errlen) != 0)
        return -1;
    m->run_us = bench_now_us() - t0;
    m->sched = json_object_new_array();
    for (int i = 0; i < n_all && m->sched; i++) {
        uint64_t cpu, wait;
        if (read_schedstat_threads(all[i], &cpu, &wait) != 0)
            continue;
        double cpu_ms = cpu > cpu0[i] ? (double)(cpu - cpu0[i]) / 1e6 : 0;
        double wait_ms = wait > wait0[i] ? (double)(wait - wait0[i]) / 1e6 : 0;
        if (i > 0)
            m->cluster_cpu_ms += cpu_ms;
        struct json_object *e = json_object_new_object();
        json_object_object_add(e, "process",
                               json_object_new_string(i == 0 ? "bench" : names[i - 1]));
        json_object_object_add(e, "cpu_ms", json_object_new_double(cpu_ms));
        json_object_object_add(e, "runq_wait_ms", json_object_new_double(wait_ms));
        json_object_array_add(m->sched, e);
        if (m->run_us && wait_ms * 1000.0 / (double)m->run_us > m->max_wait_share)
            m->max_wait_share = wait_ms * 1000.0 / (double)m->run_us;
    }
    double secs = (double)m->r.window_us / 1e6;
    m->ops_per_s = secs > 0 ? (double)m->r.ops / secs : 0;
    return 0;
}

void measure_free(struct measure *m)
{
    load_result_free(&m->r);
    json_object_put(m->sched);
    m->sched = NULL;
}
