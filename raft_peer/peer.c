/* peer.c: starting a peer, and the heart of the daemon: carrying out what the core asks,
 * in the order raft.h prescribes (send what may go early, persist, send the rest, apply). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "raft_peer/storage/boot_config.h"
#include "common/event_log.h"
#include "raft_peer/client_service.h"
#include "raft_peer/game_stream.h"
#include "raft_peer/membership_service.h"
#include "raft_peer/net/event_loop.h"
#include "raft_peer/peer.h"
#include "raft_peer/trace_log.h"
#include "raft_peer/net/rpc_codec.h"
#include "raft_peer/sm/state_machine.h"
#include "raft_peer/snapshot_service.h"
#include "raft_peer/storage/storage.h"

static void on_storage_failure(struct peer *p, const char *what)
{
    event_log_write(p->log, EVENT_LOG_ERROR,
                    "storage failed (%s): stops acknowledging anything; state on disk is kept "
                    "as last acknowledged; restart once the disk is fixed",
                    what);
    p->stopped = true;
    raft_stop(p->raft);
    client_fail_all(p, "this peer's disk failed; it no longer accepts writes");
}

/* Makes the ready's hard state and entries durable: one fsync covers every entry
 * that arrived since the previous ready (group commit). */
static int persist(struct peer *p, const struct raft_ready *rd)
{
    if (rd->hard_state_changed &&
        storage_save_hard_state(p->storage, rd->term, rd->voted_for, p->err, sizeof(p->err)) != 0)
        return -1;
    if (rd->log_changed) {
        if (storage_append(p->storage, rd->persist_from, rd->entries, rd->n_entries, p->err,
                           sizeof(p->err)) != 0)
            return -1;
        if (storage_sync(p->storage, p->err, sizeof(p->err)) != 0)
            return -1;
    }
    return 0;
}

/* The one place committed entries reach the state machine, on every peer; the client
 * service only answers (on the leader, the commands it proposed). */
static void apply_committed(struct peer *p, const struct raft_ready *rd)
{
    for (size_t i = 0; i < rd->n_committed && !p->stop_after_ready; i++) {
        raft_index index = rd->apply_from + i;
        const struct raft_entry *e = &rd->committed[i];
        struct sm_result res = {0};
        int rc = e->type == RAFT_ENTRY_COMMAND ? sm_apply(p->sm, index, e->data, e->len, &res)
                                               : sm_apply_noop(p->sm, index);
        if (rc != 0) {
            event_log_write(p->log, EVENT_LOG_ERROR,
                            "cannot apply entry %llu (out of memory or out of order); stopping",
                            (unsigned long long)index);
            /* Stop without calling the core now: the ready being applied belongs to it. */
            p->stopped = true;
            p->stop_after_ready = true;
            return;
        }
        snapshot_note_applied(p->snapshots, e->len); /* for snapshot_threshold_bytes */
        client_on_applied(p, index, e, &res);
    }
}

static void notice_role_changes(struct peer *p)
{
    enum raft_role role = raft_role(p->raft);
    if (p->last_role == RAFT_LEADER && role != RAFT_LEADER) {
        client_fail_all(p, "the leader stepped down before the command committed; retry");
        snapshot_abort_sends(p);
    }
    p->last_role = role;
}

void peer_process_ready(struct peer *p)
{
    for (int rounds = 0; rounds < 64; rounds++) {
        /* Links lost while the previous ready was sent, or in event callbacks. */
        links_report_lost(p);
        if (!raft_has_ready(p->raft))
            break;
        struct raft_ready rd;
        raft_take_ready(p->raft, &rd);

        /* 1. The leader's AppendEntries leave while it writes its own log (§10.2.1). */
        for (size_t i = 0; i < rd.n_messages; i++)
            if (!rd.messages[i].after_persist)
                outbox_send(p, &rd.messages[i]);

        /* Snapshot transfers start after this ready: starting one may call the core,
         * which would free the ready under us. */
        struct raft_snapshot_request wanted[CONFIG_MAX_PEERS];
        size_t n_wanted = 0;
        for (size_t i = 0; i < rd.n_snapshot_requests && n_wanted < CONFIG_MAX_PEERS; i++)
            wanted[n_wanted++] = rd.snapshot_requests[i];
        if (rd.snapshot_installed && !p->stopped &&
            storage_compact(p->storage, rd.snapshot_index, rd.snapshot_term, p->err,
                            sizeof(p->err)) != 0) {
            on_storage_failure(p, p->err);
            return;
        }

        /* 2. Durable before anything that depends on it is said. */
        bool durable = !p->stopped && persist(p, &rd) == 0;
        if (!p->stopped && !durable) {
            on_storage_failure(p, p->err);
            return;
        }

        /* 3. Votes and acknowledgements, now that they are true on disk. */
        if (durable) {
            for (size_t i = 0; i < rd.n_messages; i++)
                if (rd.messages[i].after_persist)
                    outbox_send(p, &rd.messages[i]);
        }
        /* 4. Apply and answer. Committed entries are on a majority's disks. */
        apply_committed(p, &rd);
        client_on_reads(p, &rd);
        if (p->stop_after_ready) {
            p->stop_after_ready = false;
            raft_stop(p->raft);
            client_fail_all(p, "this peer could not apply a committed entry; it stopped");
            return;
        }
        if (durable) /* never claim writes that did not happen */
            raft_persisted(p->raft, rd.seq);
        notice_role_changes(p);
        membership_progress(p);
        if (membership_check_removed(p))
            peer_request_exit(p);
        snapshot_start_sends(p, wanted, n_wanted);
        snapshot_maybe_take(p);
    }
    /* The replies are out: a good moment to prepare the next log segment file (a
     * fallocate and two syncs, once per segment), rather than when the segment fills. */
    if (!p->stopped)
        storage_prepare(p->storage);
    if (p->visual)
        game_send_state(p, false);
}

/* The core's clock: fire at its next deadline, re-armed after every round. */
static int64_t on_tick(struct event_loop *el, int64_t id, void *data)
{
    (void)el;
    (void)id;
    struct peer *p = data;
    p->tick_timer = 0;
    raft_tick(p->raft, el_now_ms());
    peer_process_ready(p);
    return -1;
}

static void arm_tick(struct peer *p)
{
    /* Work left over from a long burst is picked up at once, not at the next deadline. */
    raft_time due = raft_has_ready(p->raft) ? el_now_ms() : raft_next_deadline(p->raft);
    if (p->tick_timer && due == p->tick_due)
        return;
    if (p->tick_timer)
        el_del_timer(p->el, p->tick_timer);
    uint64_t now = el_now_ms();
    int64_t ms = due > now ? (int64_t)(due - now) : 0;
    p->tick_due = due;
    p->tick_timer = el_add_timer(p->el, ms, on_tick, p);
}

static int64_t on_housekeeping(struct event_loop *el, int64_t id, void *data)
{
    (void)el;
    (void)id;
    struct peer *p = data;
    links_maintain(p);
    snapshot_housekeeping(p);
    membership_progress(p); /* a learner catching up makes no ready of its own */
    if (p->visual)
        game_send_state(p, true);
    return p->cfg.heartbeat_interval;
}

static void before_sleep(struct event_loop *el, void *data)
{
    (void)el;
    struct peer *p = data;
    conn_table_reap(p->conns);
    peer_process_ready(p);
    arm_tick(p);
}

static int boot_core(struct peer *p, const struct storage_boot *boot, char *err, size_t errlen)
{
    struct raft_config rc;
    raft_config_defaults(&rc);
    rc.id = p->self;
    rc.election_timeout_min = (raft_time)p->cfg.election_timeout_min;
    rc.election_timeout_max = (raft_time)p->cfg.election_timeout_max;
    rc.heartbeat_interval = (raft_time)p->cfg.heartbeat_interval;
    rc.pre_vote = p->cfg.pre_vote != 0;
    rc.check_quorum = p->cfg.check_quorum != 0;
    rc.max_entries_per_message = 512;
    rc.seed = el_now_ms() ^ ((uint64_t)getpid() << 20);
    rc.trace = trace_to_log;
    rc.trace_ctx = p;
    raft_index snapshot_index = snapshot_last_index(p->snapshots);
    struct raft_boot_state bs = {
        .term = boot->term,
        .voted_for = boot->voted_for,
        .snapshot_index = snapshot_index,
        .snapshot_term = snapshot_last_term(p->snapshots),
        .entries = boot->entries,
        .n_entries = boot->n_entries,
        /* The log's configuration entries override it (§4.1). */
        .configuration =
            snapshot_index > 0 ? snapshot_last_configuration(p->snapshots) : p->boot_configuration,
    };
    if (boot->n_entries > 0 && boot->first_index != snapshot_index + 1) {
        snprintf(err, errlen, "%s: log starts at index %llu but the snapshot ends at %llu",
                 p->data_dir, (unsigned long long)boot->first_index,
                 (unsigned long long)snapshot_index);
        return -1;
    }
    if (boot->voted_for > p->n) {
        snprintf(err, errlen, "%s/%s: voted for peer %d, outside this %d-peer cluster",
                 p->cfg.data_dir, p->names[p->self - 1], boot->voted_for, p->n);
        return -1;
    }
    p->raft = raft_new(&rc, &bs, el_now_ms());
    if (!p->raft) {
        snprintf(err, errlen, "cannot create the Raft core (out of memory?)");
        return -1;
    }
    p->last_role = RAFT_FOLLOWER;
    return 0;
}

int peer_start(struct peer *p, const struct config *cfg, int n, int self_index, bool visual,
               const char *log_level, const struct conn_handlers *lines, char *err, size_t errlen)
{
    memset(p, 0, sizeof(*p));
    p->cfg = *cfg;
    p->n = cfg->n_peers < RAFT_MAX_PEERS ? cfg->n_peers : RAFT_MAX_PEERS;
    p->boot_n = n;
    p->self = self_index + 1;
    p->visual = visual;
    if (client_init(p, err, errlen) != 0 || membership_init(p, err, errlen) != 0 ||
        trace_log_init(p, err, errlen) != 0)
        return -1;
    for (int i = 0; i < p->n; i++)
        p->names[i] = p->cfg.peers[i].name;
    const char *name = p->names[self_index];

    p->log =
        event_log_open(cfg->log_dir, name, log_level ? log_level : cfg->log_level, err, errlen);
    if (!p->log)
        return -1;
    if (visual) {
        game_open(p);
        event_log_set_sink(p->log, game_send_event, p);
    }

    const char *dir = p->data_dir;
    snprintf(p->data_dir, sizeof(p->data_dir), "%s/%s", cfg->data_dir, name);
    p->sm = sm_new();
    if (!p->sm) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    struct storage_boot boot;
    memset(&boot, 0, sizeof(boot));
    /* A snapshot from before membership changes carries no configuration: it was taken
     * by a cluster of the first N peers (boot_config_open below makes that durable). */
    p->boot_configuration =
        n > 0 ? raft_configuration_bootstrap(n) : (struct raft_configuration){0, 0};
    if (snapshot_boot(p, err, errlen) != 0 ||
        storage_open_after_snapshot(dir, snapshot_last_index(p->snapshots),
                                    snapshot_last_term(p->snapshots), &p->storage, &boot, err,
                                    errlen) != 0) {
        event_log_write(p->log, EVENT_LOG_ERROR, "refuses to start: %s", err);
        storage_boot_free(&boot);
        return -1;
    }
    bool stored = false;
    if (boot_config_open(p->data_dir, n, &p->boot_configuration, &stored, err, errlen) != 0) {
        event_log_write(p->log, EVENT_LOG_ERROR, "refuses to start: %s", err);
        storage_boot_free(&boot);
        return -1;
    }
    if (stored && n > 0) {
        struct raft_configuration asked = raft_configuration_bootstrap(n);
        if (asked.voters != p->boot_configuration.voters ||
            asked.learners != p->boot_configuration.learners)
            event_log_write(p->log, EVENT_LOG_WARN,
                            "N = %d does not match the configuration this data directory began "
                            "with: the stored one wins (docs/MEMBERSHIP.md)",
                            n);
    }
    event_log_set_term(p->log, boot.term);
    if (boot.notice[0])
        event_log_write(p->log, EVENT_LOG_WARN, "recovery: %s", boot.notice);
    int rc = boot_core(p, &boot, err, errlen);
    size_t n_entries = boot.n_entries;
    storage_boot_free(&boot);
    if (rc != 0)
        return -1;

    p->entry_space = calloc(RPC_MAX_ENTRIES, sizeof(*p->entry_space));
    p->el = el_create(1024, err, errlen);
    if (!p->el || !p->entry_space) {
        if (p->el)
            snprintf(err, errlen, "out of memory");
        return -1;
    }
    struct conn_handlers handlers = *lines;
    handlers.ctx = p;
    p->conns = conn_table_new(p->el, p->log, &handlers);
    if (!p->conns || faults_init(p) != 0 || pace_init(p) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    const struct config_peer *me = &p->cfg.peers[p->self - 1];
    if (conn_table_listen(p->conns, me->host, me->port, err, errlen) != 0) {
        event_log_write(p->log, EVENT_LOG_ERROR, "refuses to start: %s", err);
        return -1;
    }
    p->started_ms = el_now_ms();
    /* A silent follower's messages given up: its snapshot transfer goes too. */
    if (links_init(p, snapshot_abort_send) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    el_set_before_sleep(p->el, before_sleep, p);
    el_add_timer(p->el, p->cfg.heartbeat_interval, on_housekeeping, p);
    char conf_text[RAFT_CONFIGURATION_MAX + 1];
    size_t conf_len = raft_configuration_encode(raft_configuration(p->raft), (uint8_t *)conf_text);
    conf_text[conf_len] = '\0';
    event_log_write(
        p->log, EVENT_LOG_INFO,
        "started (pid %d) as peer %d%s on %s:%d, configuration %s; recovered term "
        "%llu, vote %s, %zu log entries from %s",
        (int)getpid(), p->self,
        raft_configuration_is_member(raft_configuration(p->raft), p->self)
            ? ""
            : " (not a member: waiting to be added)",
        cfg->peers[self_index].host, cfg->peers[self_index].port, conf_len > 0 ? conf_text : "none",
        (unsigned long long)raft_current_term(p->raft),
        raft_voted_for(p->raft) ? p->names[raft_voted_for(p->raft) - 1] : "none", n_entries, dir);
    return 0;
}

int peer_run(struct peer *p)
{
    return el_run(p->el);
}

void peer_request_exit(struct peer *p)
{
    p->exiting = true;
    if (p->el)
        el_stop(p->el);
}

void peer_free(struct peer *p)
{
    if (p->log && p->raft)
        event_log_write(p->log, EVENT_LOG_INFO, "shutting down");
    client_free(p);
    membership_free(p);
    snapshot_free(p);
    conn_table_free(p->conns);
    p->conns = NULL;
    links_free(p);
    faults_free(p);
    pace_free(p);
    game_close(p);
    if (p->el)
        el_free(p->el);
    raft_free(p->raft);
    trace_log_free(p); /* after the core, which traces through it */
    sm_free(p->sm);
    free(p->entry_space);
    storage_close(p->storage);
    event_log_close(p->log);
    memset(p, 0, sizeof(*p));
}
