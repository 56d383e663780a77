#!/bin/sh
# The daemon's layers (docs/ARCHITECTURE.md) must stay layers:
#  1. the leaf folders raft_peer/net/, raft_peer/storage/ and raft_peer/sm/ include only
#     the system, common/, the core and their own folder: never the glue in raft_peer/;
#  2. no two glue files (raft_peer/*.c) call each other in a circle, directly or through
#     others. Calls are read from the objects' symbol tables (nm), so a call hidden behind
#     a macro counts too; a call through a function pointer the caller was handed does
#     not, which is the point of handing it one.
# Usage: check_layers.sh OBJDIR (where raft_peer/*.o were built). Exit 1 naming every
# offence.
set -u
objdir=${1:-build/release/obj}
fail=0

for dir in net storage sm; do
    bad=$(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' raft_peer/$dir/*.c raft_peer/$dir/*.h |
        grep -vE "#[[:space:]]*include[[:space:]]*\"(common/[a-z_0-9]+\.h|raft_peer/core/[a-z_0-9]+\.h|raft_peer/$dir/[a-z_0-9]+\.h)\"")
    if [ -n "$bad" ]; then
        echo "layering check FAILED: raft_peer/$dir/ may include only common/, the core and itself:"
        echo "$bad"
        fail=1
    fi
done

# Glue call graph: an edge A -> B when A.o uses a symbol B.o defines.
objs=""
for src in raft_peer/*.c; do
    o=$objdir/${src%.c}.o
    if [ ! -f "$o" ]; then
        echo "layering check: $o is missing (build first)"
        exit 1
    fi
    objs="$objs $o"
done
edges=$(for o in $objs; do
    f=$(basename "$o" .o)
    nm --defined-only -g "$o" | awk -v f="$f" '$2 ~ /^[TDBR]$/ { print "D", $3, f }'
    nm -u "$o" | awk -v f="$f" '{ print "U", $2, f }'
done | awk '
    $1 == "D" { def[$2] = $3; next }
    { use[++n] = $2; user[n] = $3 }
    END { for (i = 1; i <= n; i++) if ((use[i] in def) && def[use[i]] != user[i]) print user[i], def[use[i]] }' | sort -u)

cycles=$(printf '%s\n' "$edges" | awk '
    NF == 2 { adj[$1] = adj[$1] " " $2; node[$1] = 1; node[$2] = 1 }
    # Depth-first search from every file; a back edge to a file on the stack is a circle.
    function visit(v,    i, j, k, ws, w, path) {
        state[v] = 1; stack[++depth] = v
        k = split(adj[v], ws, " ")
        for (i = 1; i <= k; i++) {
            w = ws[i]
            if (state[w] == 1) {
                path = w
                for (j = depth; j >= 1; j--) {
                    path = stack[j] " -> " path
                    if (stack[j] == w) break
                }
                print path
            } else if (state[w] == 0) visit(w)
        }
        depth--; state[v] = 2
    }
    END { for (v in node) if (state[v] == 0) visit(v) }')
if [ -n "$cycles" ]; then
    echo "layering check FAILED: glue files that call each other in a circle:"
    echo "$cycles"
    fail=1
fi

if [ $fail -ne 0 ]; then
    exit 1
fi
n_edges=$(printf '%s\n' "$edges" | grep -c .)
echo "layering check passed: net/, storage/, sm/ include no glue; $n_edges calls between glue files, no circle"
