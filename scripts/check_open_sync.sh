#!/bin/sh
# The black-box check that a restarted peer syncs what it loads before it answers
# (docs/STORAGE.md, "Recovery", step 5). As a 1-peer cluster on a spare port, peer1
# takes a write and is killed with SIGKILL (its last writes may sit in the page cache
# only). It is then started alone as peer 1 of 3, under strace: without the others it
# cannot win an election, so it writes nothing new, and any fsync or fdatasync of a
# file under its data directory before the first connection it accepts is open making
# what it loaded durable. The code before open synced is seen to do none.
# Usage: scripts/check_open_sync.sh [PORT]   (needs strace and bin/raft_peer, bin/user_cli)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
port=${1:-16901}
work=$(mktemp -d)
# The peer is found by its INI (strace stays its parent, so $pid is strace's).
stop_peer() { pkill -9 -f "raft_peer peer1 [13] -c $work/check.ini" 2>/dev/null || true; }
trap 'stop_peer; rm -rf "$work"' EXIT
cd "$work"
cat > check.ini <<INI
[raft]
election_timeout_min = 150
election_timeout_max = 300
heartbeat_interval = 50
data_dir = data
log_dir = logs
[game]
host = 127.0.0.1
port = $((port + 1))
[peer1]
host = 127.0.0.1
port = $port
[peer2]
host = 127.0.0.1
port = $((port + 2))
[peer3]
host = 127.0.0.1
port = $((port + 3))
INI
"$root/bin/raft_peer" peer1 1 -c "$work/check.ini" & pid=$!
sleep 1
"$root/bin/user_cli" 1 -c check.ini x add 5 >/dev/null
stop_peer; wait $pid 2>/dev/null || true
strace -f -y -e trace=fsync,fdatasync,syncfs,accept4,accept -o trace.txt \
    "$root/bin/raft_peer" peer1 3 -c "$work/check.ini" & pid=$!
sleep 1
"$root/bin/user_cli" 3 -c check.ini status >/dev/null || true
sleep 0.3
stop_peer; wait $pid 2>/dev/null || true
first_accept=$(grep -n 'accept' trace.txt | grep -v EAGAIN | head -1 | cut -d: -f1)
syncs=$(head -n "${first_accept:-1}" trace.txt | grep -E 'f(data)?sync|syncfs' | grep -c "data/peer1" || true)
grep -E 'sync|accept' trace.txt | grep -v EAGAIN | head -n 12
if [ -z "$first_accept" ] || [ "$syncs" -eq 0 ]; then
    echo "check_open_sync: FAILED: no sync under data/peer1 before the first accepted connection"
    exit 1
fi
echo "check_open_sync: $syncs syncs under data/peer1 before the first accepted connection"
