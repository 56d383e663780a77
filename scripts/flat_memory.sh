#!/usr/bin/env bash
# Shows that a peer's memory (VmRSS) and data directory stay flat under endless load:
# starts a 3-peer cluster (snapshot_threshold at its default, 10000), measures, drives
# it with raft_bench (64 clients, adds only) in rounds until at least TOTAL commands
# have committed, and measures after every round.   usage: scripts/flat_memory.sh [TOTAL]
set -euo pipefail
cd "$(dirname "$0")/.."
total=${1:-1000000}
make -s bin/raft_peer bin/raft_bench
dir=$(mktemp -d /tmp/raftvillage-flat-XXXXXX)
trap 'kill $(cat "$dir"/*.pid 2>/dev/null) 2>/dev/null || true; rm -rf "$dir"' EXIT
port=$((20000 + RANDOM % 20000))
{
    printf '[raft]\ndata_dir = %s/data\nlog_dir = %s/logs\nlog_level = warn\n' "$dir" "$dir"
    printf '[game]\nport = %d\n' $((port + 10))
    for i in 1 2 3; do printf '[peer%d]\nhost = 127.0.0.1\nport = %d\n' $i $((port + i)); done
} >"$dir/raft.ini"
for i in 1 2 3; do
    bin/raft_peer peer$i 3 -c "$dir/raft.ini" >/dev/null 2>&1 &
    echo $! >"$dir/peer$i.pid"
done
sleep 1.5

commit() {
    python3 - "$port" <<'PY'
import json, socket, sys
port = int(sys.argv[1])
for p in (port + 1, port + 2, port + 3):
    try:
        s = socket.create_connection(("127.0.0.1", p), timeout=1)
        s.sendall(b'{"type":"status"}\n')
        d = json.loads(s.makefile().readline())
        if d.get("role") == "leader":
            print(d["commit_index"]); break
    except OSError:
        pass
else:
    print(0)
PY
}
measure() {
    local rss="" f
    for f in "$dir"/peer*.pid; do
        rss="$rss $(awk '/VmRSS/ {print $2}' /proc/"$(cat "$f")"/status)"
    done
    printf '%-10s %12s   RSS kB:%-22s data kB: %s\n' "$1" "$(commit)" "$rss" \
        "$(du -sk "$dir"/data/peer* | awk '{printf "%s ", $1}')"
}
printf '%-10s %12s\n' when committed
measure start
while [ "$(commit)" -lt "$total" ]; do
    bin/raft_bench run -c "$dir/raft.ini" -n 3 -C 64 -T 30 --warmup 0 --mix add=100 >/dev/null
    measure round
done
