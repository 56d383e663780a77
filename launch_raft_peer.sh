#!/usr/bin/env bash
# launch_raft_peer.sh N [-v]   start peer1..peerN of raft_peer.ini in the background
#                              (-v: stream to the game, and open the game)
# launch_raft_peer.sh add NAME     start NAME with --join and add it to the running cluster
# launch_raft_peer.sh remove NAME  take NAME out of the configuration, then stop it
# launch_raft_peer.sh stop     stop exactly the processes this script started
#
# Set RAFT_INI to use another configuration file (default: ./raft_peer.ini).
set -euo pipefail

cd "$(dirname "$0")"
ini=${RAFT_INI:-raft_peer.ini}
run_dir=run

usage() {
    echo "usage: $0 N [-v]        start a cluster of the first N peers of $ini (-v: with the game)"
    echo "       $0 add NAME      start peer NAME of $ini with --join and add it to the cluster"
    echo "       $0 remove NAME   remove peer NAME from the cluster's configuration and stop it"
    echo "       $0 stop          stop the peers (and game) this script started"
}

# Peer names, in file order: every section but [raft] and [game].
peer_names() {
    sed -n 's/^[[:space:]]*\[\([^]]*\)\][[:space:]]*\(;.*\|#.*\)\{0,1\}$/\1/p' "$ini" |
        grep -vx -e raft -e game
}

# True when the pid in file $1 is alive and is the program it names ($2).
pid_is_ours() {
    local pid
    pid=$(cat "$1" 2>/dev/null) || return 1
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [ -r "/proc/$pid/cmdline" ] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "$2"
}

stop_all() {
    local stopped=0 f
    shopt -s nullglob
    for f in "$run_dir"/*.pid; do
        local name prog pid
        name=$(basename "$f" .pid)
        prog=raft_peer
        [ "$name" = raft_game ] && prog=raft_game
        if pid_is_ours "$f" "$prog"; then
            pid=$(cat "$f")
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
            echo "stopped $name (pid $pid)"
            stopped=$((stopped + 1))
        fi
        rm -f "$f"
    done
    [ $stopped -gt 0 ] || echo "nothing to stop: no process started by $0 is running"
}

# The cluster this script started: its N (user_cli finds the leader among the ini's first N
# peers, and past them when the configuration moved on) and whether peers stream to the game.
cluster_file=$run_dir/cluster

# add NAME / remove NAME: a membership change on the running cluster, through user_cli,
# which answers once the change is committed (docs/MEMBERSHIP.md).
change_member() {
    local op=$1 name=$2 n visual flags=() log_dir
    if [ ! -r "$cluster_file" ]; then
        echo "$0: no cluster started by this script is running; start one with '$0 N' first" >&2
        exit 1
    fi
    n=$(sed -n 's/^n=//p' "$cluster_file")
    visual=$(sed -n 's/^visual=//p' "$cluster_file")
    # Not grep -q: with pipefail, an early exit could fail the pipeline through SIGPIPE.
    if ! peer_names | grep -x -- "$name" >/dev/null; then
        echo "$0: $name is not a peer section of $ini" >&2
        exit 2
    fi
    log_dir=$(sed -n 's/^[[:space:]]*log_dir[[:space:]]*=[[:space:]]*\([^;#[:space:]]*\).*/\1/p' "$ini" | head -1)
    log_dir=${log_dir:-logs}
    [ "$visual" = 1 ] && flags+=(-v)
    if [ "$op" = add ]; then
        if pid_is_ours "$run_dir/$name.pid" raft_peer; then
            echo "$0: $name is already running (pid $(cat "$run_dir/$name.pid"))" >&2
            exit 1
        fi
        nohup bin/raft_peer "$name" --join "${flags[@]}" -c "$ini" >"$log_dir/$name.out" 2>&1 &
        echo $! >"$run_dir/$name.pid"
        sleep 0.3
        if ! pid_is_ours "$run_dir/$name.pid" raft_peer; then
            echo "$name failed to start:" >&2
            sed 's/^/    /' "$log_dir/$name.out" >&2
            rm -f "$run_dir/$name.pid"
            exit 1
        fi
        echo "$name started with --join (pid $(cat "$run_dir/$name.pid")), log $log_dir/$name.log"
        # A learner may take a while to catch up with a long log: a generous timeout.
        local rc=0
        bin/user_cli "$n" -c "$ini" --timeout 60 add "$name" || rc=$?
        if [ $rc -eq 3 ]; then
            echo "$0: no leader answered in time, so whether $name was added is unknown;" \
                "it keeps running: see bin/user_cli $n members" >&2
            exit 1
        elif [ $rc -ne 0 ]; then
            echo "$0: the cluster did not add $name; stopping it again" >&2
            kill -TERM "$(cat "$run_dir/$name.pid")" 2>/dev/null || true
            rm -f "$run_dir/$name.pid"
            exit 1
        fi
        echo "see: bin/user_cli $n members"
    else
        bin/user_cli "$n" -c "$ini" --timeout 30 remove "$name" || exit 1
        if pid_is_ours "$run_dir/$name.pid" raft_peer; then
            local pid
            pid=$(cat "$run_dir/$name.pid")
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
            echo "stopped $name (pid $pid)"
        fi
        rm -f "$run_dir/$name.pid"
    fi
}

case "${1:-}" in
-h | --help) usage; exit 0 ;;
stop) stop_all; rm -f "$cluster_file"; exit 0 ;;
add | remove)
    [ $# -eq 2 ] || { usage >&2; exit 2; }
    [ -f "$ini" ] || { echo "$0: $ini not found" >&2; exit 2; }
    if ! make -q all >/dev/null 2>&1; then
        echo "building..."
        make -s all
    fi
    change_member "$1" "$2"
    exit 0
    ;;
'' | *[!0-9]*) usage >&2; exit 2 ;;
esac
n=$1
shift
visual=0
for arg in "$@"; do
    case "$arg" in
    -v) visual=1 ;;
    *) usage >&2; exit 2 ;;
    esac
done

[ -f "$ini" ] || { echo "$0: $ini not found" >&2; exit 2; }
mapfile -t names < <(peer_names)
if [ "$n" -lt 1 ] || [ "$n" -gt "${#names[@]}" ]; then
    echo "$0: N must be between 1 and ${#names[@]}, the number of peers in $ini" >&2
    exit 2
fi

shopt -s nullglob
for f in "$run_dir"/*.pid; do
    if pid_is_ours "$f" raft_; then
        echo "$0: a cluster started by this script is still running; run '$0 stop' first" >&2
        exit 1
    fi
    rm -f "$f"
done

# Build if needed (quietly when everything is up to date).
if ! make -q all >/dev/null 2>&1; then
    echo "building..."
    make -s all
fi

log_dir=$(sed -n 's/^[[:space:]]*log_dir[[:space:]]*=[[:space:]]*\([^;#[:space:]]*\).*/\1/p' "$ini" | head -1)
log_dir=${log_dir:-logs}
mkdir -p "$run_dir" "$log_dir"
flags=()
[ $visual = 1 ] && flags+=(-v)

printf 'n=%s\nvisual=%s\n' "$n" "$visual" >"$cluster_file"
for ((i = 0; i < n; i++)); do
    name=${names[$i]}
    nohup bin/raft_peer "$name" "$n" "${flags[@]}" -c "$ini" >"$log_dir/$name.out" 2>&1 &
    echo $! >"$run_dir/$name.pid"
done
if [ $visual = 1 ]; then
    nohup bin/raft_game -c "$ini" -n "$n" >"$log_dir/raft_game.out" 2>&1 &
    echo $! >"$run_dir/raft_game.pid"
fi

sleep 0.5
failed=0
for ((i = 0; i < n; i++)); do
    name=${names[$i]}
    if pid_is_ours "$run_dir/$name.pid" raft_peer; then
        printf '%-8s pid %-7s log %s/%s.log\n' "$name" "$(cat "$run_dir/$name.pid")" "$log_dir" "$name"
    else
        echo "$name failed to start:" >&2
        sed 's/^/    /' "$log_dir/$name.out" >&2
        failed=1
    fi
done
if [ $visual = 1 ]; then
    if pid_is_ours "$run_dir/raft_game.pid" raft_game; then
        printf '%-8s pid %s\n' raft_game "$(cat "$run_dir/raft_game.pid")"
    else
        echo "raft_game failed to start:" >&2
        sed 's/^/    /' "$log_dir/raft_game.out" >&2
    fi
fi
echo
echo "try:   bin/user_cli $n x add 100      (or bin/user_cli $n for a prompt)"
echo "grow:  $0 add ${names[$n]:-NAME}      (shrink: $0 remove NAME)"
echo "watch: tail -f $log_dir/*.log"
echo "stop:  $0 stop"
exit $failed
