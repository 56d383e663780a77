#!/bin/sh
# The core's archive is linked into programs that have their own log_init or majority:
# every global symbol it defines must start with raft_ (raft_peer/core/state.h says why).
# Public names (raft_<name>) must be declared in raft.h; what the core's files share among
# themselves is raft__<name>. Fails (exit 1) naming every symbol that breaks this.
# Usage: check_core_symbols.sh path/to/libraft_core.a [path/to/raft.h]
set -u
lib=${1:?usage: $0 libraft_core.a [raft.h]}
header=${2:-raft_peer/core/raft.h}
if [ ! -f "$lib" ]; then
    echo "core symbol check FAILED: $lib not found (build it first)"
    exit 1
fi
# Defined globals only: text, data, bss, read-only data (weak ones too, V and W).
syms=$(nm -g --defined-only "$lib" | awk 'NF == 3 && $2 ~ /^[TDBRVWG]$/ {print $3}' | sort -u)
bad=""
for s in $syms; do
    case "$s" in
    raft__*) ;;
    raft_*)
        grep -qw "$s" "$header" || bad="$bad
  $s: public name (raft_) not declared in $header: declare it, or call it raft__$(echo "$s" | cut -c6-)" ;;
    *)
        bad="$bad
  $s: does not start with raft_ (make it static, or name it raft__<name>)" ;;
    esac
done
if [ -n "$bad" ]; then
    echo "core symbol check FAILED in $lib:$bad"
    exit 1
fi
echo "core symbol check passed: $(echo "$syms" | grep -c .) global symbols in $lib, all raft_"
