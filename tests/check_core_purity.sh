#!/bin/sh
# The Raft core must stay pure: no sockets, clock, stdio, files, threads or json-c.
# Fails (exit 1) naming every offending include. <assert.h> is allowed: assertions do no I/O
# until one fails, and the core asserts its invariants (raft_peer/core/invariants.c).
set -u
dir=${1:-raft_peer/core}
bad=$(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"](stdio\.h|time\.h|sys/time\.h|sys/socket\.h|netinet/[^>"]*|arpa/[^>"]*|netdb\.h|unistd\.h|fcntl\.h|sys/stat\.h|sys/types\.h|dirent\.h|poll\.h|sys/epoll\.h|pthread\.h|signal\.h|json-c/[^>"]*|json\.h|syslog\.h)[>"]' "$dir"/*.c "$dir"/*.h 2>/dev/null)
calls=$(grep -nE '\b(printf|fprintf|fopen|open|read|write|socket|clock_gettime|time|gettimeofday|rand|srand|random|getenv)[[:space:]]*\(' "$dir"/*.c 2>/dev/null | grep -vE '^\S+:[0-9]+:\s*(\*|//|/\*)' )
if [ -n "$bad$calls" ]; then
    echo "core purity check FAILED: the core in $dir must not do I/O, read clocks or use randomness of its own:"
    [ -n "$bad" ] && echo "$bad"
    [ -n "$calls" ] && echo "$calls"
    exit 1
fi
echo "core purity check passed: $(ls "$dir"/*.c "$dir"/*.h | wc -l) files in $dir"
