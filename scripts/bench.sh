#!/bin/sh
# bench.sh: what `make bench` runs (docs/PERFORMANCE.md explains every figure).
#
#   the machine's limits (storage append+fsync, TCP loopback round trip),
#   throughput and latency: 3 and 5 peers x 1, 16, 64 clients, fsync on, log_level warn,
#   1 client against 1 peer (what replication adds to the 1-client latency),
#   the cost of log_level info, a read-only mix,
#   beside etcd 3.4: the same clients and mix against 3 etcd members (skipped, saying why,
#   when etcd is not installed; installed with apt-get when root),
#   failover: SIGKILL and SIGSTOP of the leader, with 150-300 ms and 12-24 ms timeouts,
#   how the cost of a write grows with the state (raft_bench scale: 1,000 variables beside
#   300,000, then beside 1,000,000, in interleaved windows), the state machine alone at
#   1,000,000 variables,
#   idle memory, and the restart of a peer with a 1,000,000-entry log,
#   a follower SIGSTOPped while 64 clients write: the leader's memory (beside the same load
#   with every follower answering), and catch-up after
#   SIGCONT against catch-up after a restart (targets of issue 14 printed beside).
#
# Results: build/bench/results-<time>.txt (the tables) and .jsonl (one JSON object per
# run, the machine first); build/bench/latest.{txt,jsonl} point at the newest.
# Knobs (environment): BENCH_SECONDS (10), BENCH_KILLS (20), BENCH_ENTRIES (1000000),
# RAFT_BIN_DIR (bin), BENCH_RT=1 to run everything under SCHED_FIFO (chrt -f 1, needs
# root): on a machine shared with CPU-bound jobs, a woken peer otherwise waits for the
# running job's time slice, and that wait, not the peer, sets the figures (the rq%
# column and "waiting for a CPU" line show how much). BENCH_ETCD=0 skips the etcd
# comparison, ETCD_BIN names the etcd program. Takes about 8 minutes.
set -u

BIN=${RAFT_BIN_DIR:-bin}
SECONDS_PER_RUN=${BENCH_SECONDS:-10}
KILLS=${BENCH_KILLS:-20}
ENTRIES=${BENCH_ENTRIES:-1000000}
OUT=build/bench
BENCH="$BIN/raft_bench"

if [ ! -x "$BENCH" ] || [ ! -x "$BIN/raft_peer" ]; then
    echo "bench.sh: $BENCH or $BIN/raft_peer is missing; run make first" >&2
    exit 2
fi
export RAFT_BIN_DIR="$BIN"
SCHED=""
if [ "${BENCH_RT:-0}" = 1 ]; then
    if chrt -f 1 true 2>/dev/null; then
        SCHED="chrt -f 1"
    else
        echo "bench.sh: BENCH_RT=1 but chrt -f 1 is not allowed here; running normally" >&2
    fi
fi
mkdir -p "$OUT" || exit 2
stamp=$(date -u +%Y%m%dT%H%M%SZ)
TXT="$OUT/results-$stamp.txt"
JSON="$OUT/results-$stamp.jsonl"
TMP=$(mktemp) || exit 2
trap 'rm -f "$TMP"' EXIT
failures=0

say() {
    printf '%s\n' "$*" | tee -a "$TXT"
}

# Runs raft_bench with the given arguments, shows its table and keeps it. The output is
# collected first so the exit status is raft_bench's, not tee's.
bench() {
    $SCHED "$BENCH" --json-file "$JSON" --label "${SCHED:-default scheduling}" "$@" >"$TMP" 2>&1
    rc=$?
    cat "$TMP"
    cat "$TMP" >>"$TXT"
    if [ "$rc" -ne 0 ]; then
        say "  (raft_bench $* exited with $rc)"
        failures=$((failures + 1))
    fi
}

# The machine, as plain facts; JSON strings are kept to safe characters.
clean() {
    tr -d '"\\' | tr -s ' \t' ' ' | sed 's/^ //; s/ $//'
}
cpus=$(nproc 2>/dev/null || echo '?')
model=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2 | clean)
kernel=$(uname -sr | clean)
tmpfs=$(df -PT /tmp 2>/dev/null | awk 'NR==2 {print $1 " (" $2 ")"}' | clean)
mem=$(awk '/MemTotal/ {printf "%d MiB", $2 / 1024}' /proc/meminfo 2>/dev/null)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
printf '{"mode":"machine","time":"%s","nproc":"%s","cpu":"%s","kernel":"%s","tmp_disk":"%s","memory":"%s","commit":"%s"}\n' \
    "$stamp" "$cpus" "$model" "$kernel" "$tmpfs" "$mem" "$commit" >>"$JSON"

say "Raft Village benchmark, $stamp, commit $commit"
say "machine: $cpus CPUs, $model; $mem; kernel $kernel; /tmp on $tmpfs"
say "load average: $(cut -d' ' -f1-3 /proc/loadavg); scheduling: ${SCHED:-default}"
say "peers log at warn unless said otherwise; every write is fsynced before it is acknowledged"
say ""

say "== limits of this machine"
bench limits --samples 2000
say ""

say "== throughput and latency (mix add=90,get=10, ${SECONDS_PER_RUN} s after 1 s of warmup)"
first=1
for peers in 3 5; do
    for clients in 1 16 64; do
        if [ "$first" = 1 ]; then header=""; first=0; else header="--no-header"; fi
        bench run -n "$peers" -C "$clients" -T "$SECONDS_PER_RUN" $header
    done
done
say ""

say "== one client against its floor (2 loopback round trips + 1 fdatasync into a preallocated file; and + a majority of the peers syncing together on the one disk they share; measured before and after)"
bench floor -n 3 -T "$SECONDS_PER_RUN" --samples 2000
say ""

say "== what replication adds: 1 client against a 1-peer cluster (floor: 1 rtt + 1 fsync)"
bench run -n 1 -C 1 -T "$SECONDS_PER_RUN" --no-header
say ""

say "== the cost of logging every command (log_level info), and a read-only mix"
bench run -n 3 -C 1 -T "$SECONDS_PER_RUN" --log-level info
bench run -n 3 -C 64 -T "$SECONDS_PER_RUN" --log-level info --no-header
bench run -n 3 -C 16 -T "$SECONDS_PER_RUN" --mix get=100 --no-header
say ""

# etcd beside us: the same workload against etcd 3.4 (Debian's etcd-server), 3 members
# that raft_bench starts on loopback in /tmp and stops again. Without etcd the comparison
# is skipped and says why; as root, with apt-get and BENCH_ETCD_INSTALL=1 (the default
# when root), the script installs etcd-server first and says so. BENCH_ETCD=0 skips it.
etcd_compare() {
    if [ "${BENCH_ETCD:-1}" = 0 ]; then
        say "skipped: BENCH_ETCD=0"
        return
    fi
    etcd_bin=${ETCD_BIN:-$(command -v etcd 2>/dev/null)}
    if [ -z "$etcd_bin" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 &&
        [ "${BENCH_ETCD_INSTALL:-1}" = 1 ]; then
        say "etcd is not installed: running apt-get install -y etcd-server (root; BENCH_ETCD_INSTALL=0 to skip)"
        if DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server >"$TMP" 2>&1 ||
            { apt-get update -qq >/dev/null 2>&1 &&
                DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server >"$TMP" 2>&1; }; then
            etcd_bin=$(command -v etcd 2>/dev/null)
            # Debian's package starts a system etcd service (on 2379/2380) where systemd
            # runs; the bench starts its own members, so the one it caused is stopped.
            if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet etcd 2>/dev/null; then
                say "stopping and disabling the etcd service the package started (systemctl disable --now etcd)"
                systemctl disable --now etcd >/dev/null 2>&1
            fi
        else
            tail -3 "$TMP" | tee -a "$TXT"
        fi
    fi
    if [ -z "$etcd_bin" ] || [ ! -x "$etcd_bin" ]; then
        if [ -n "${ETCD_BIN:-}" ]; then
            say "skipped: ETCD_BIN=$ETCD_BIN is not an executable file"
            return
        fi
        say "skipped: no etcd program in PATH (ETCD_BIN unset). To compare, install Debian's etcd:"
        say "  sudo apt-get install etcd-server     (then rerun make bench, or: $BENCH etcd -C 16)"
        return
    fi
    say "etcd: $etcd_bin, $("$etcd_bin" --version 2>/dev/null | head -1); data dirs in /tmp like ours;"
    say "etcd writes are puts and its reads linearizable ranges (not our add: see docs/PERFORMANCE.md)"
    header=""
    for clients in 1 16 64; do
        bench etcd -n 3 -C "$clients" -T "$SECONDS_PER_RUN" --etcd "$etcd_bin" $header
        header="--no-header"
    done
}

say "== beside etcd: the same workload (3 peers/members, mix add=90,get=10, ${SECONDS_PER_RUN} s each, ours first)"
etcd_compare
say ""

say "== failover: the leader killed (KILL) or frozen (STOP) $KILLS times while a client writes"
bench failover -n 3 --signal KILL --kills "$KILLS" --timeouts 150-300 --heartbeat 50
bench failover -n 3 --signal KILL --kills "$KILLS" --timeouts 12-24 --heartbeat 4 --no-header
bench failover -n 3 --signal STOP --kills "$KILLS" --timeouts 150-300 --heartbeat 50 --no-header
bench failover -n 3 --signal STOP --kills "$KILLS" --timeouts 12-24 --heartbeat 4 --no-header
say ""

say "== how the cost of a write grows with the state (3 peers, 64 clients, mix set=90,get=10, ${SECONDS_PER_RUN} s windows)"
bench scale -n 3 -C 64 --entries 300000 --mix set=90,get=10 -T "$SECONDS_PER_RUN"
bench scale -n 3 -C 64 --entries 1000000 --mix set=90,get=10 -T "$SECONDS_PER_RUN" --no-header
say ""

say "== the state machine alone at 1,000,000 variables: every apply timed, snapshot encode and decode"
bench statemachine --entries 1000000
say ""

say "== memory of idle peers (3 peers, leader elected, 3 s quiet)"
bench memory -n 3
say ""

say "== a follower SIGSTOPped ${SECONDS_PER_RUN} s while 64 clients write, then SIGKILLed and restarted after as long"
bench follower -n 3 -C 64 -T "$SECONDS_PER_RUN" --warmup 3
say ""

say "== restart of a peer with a $ENTRIES-entry log"
bench restart --entries "$ENTRIES" --restarts 3
say ""

say "== limits again (the machine may have changed during the runs)"
bench limits --samples 2000
say "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
say ""

ln -sf "results-$stamp.txt" "$OUT/latest.txt"
ln -sf "results-$stamp.jsonl" "$OUT/latest.jsonl"
say "results: $TXT and $JSON"
if [ "$failures" -ne 0 ]; then
    say "$failures run(s) failed"
    exit 1
fi
exit 0
