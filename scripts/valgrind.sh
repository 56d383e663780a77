#!/bin/sh
# valgrind.sh: what `make valgrind` runs (docs/TESTING.md): the test suite under
# valgrind's memcheck, with leak checking.
#
#   1. builds everything with -O1 -g into build/valgrind/ (release and ASan builds untouched);
#   2. every tests/unit program, Criterion's test processes included (--trace-children);
#   3. the simulator on VG_SEEDS seeds (the mutant hunts are skipped: they test the
#      tests, and the mutated cores are the same code);
#   4. every tests/integration program, with RAFT_PEER_WRAPPER set so that each raft_peer
#      the harness starts runs under valgrind with its own log, RAFT_TEST_TIMEOUT_SCALE
#      set so elections survive the slowdown, and user_cli, raft_game and the peers the
#      tests start by hand traced as children;
#   5. reads every valgrind log: memory errors (invalid reads and writes, uninitialised
#      values, bad frees, ...) count in every log; definite and indirect leaks count in
#      the logs of processes that exited (a SIGKILLed peer never writes a leak summary,
#      and that is expected).
#
# Prints one line per program and a summary; exits 1 when a program failed, or valgrind
# found an error or a leak, 2 when it could not run. Logs: build/valgrind/logs/.
# Knobs (environment): VG_SEEDS (150: 50 per cluster size), VG_SCALE (4: integration
# timeouts), VG_UNIT_SCALE (20: unit tests' time bounds), VG_ONLY=word
# (only the programs whose name contains it), VG_EXTRA (more valgrind options, e.g.
# --track-origins=yes), VG_PROGRAM_TIMEOUT (2400 s per program), VG_NO_BUILD=1.
set -u
cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd)
BUILD=build/valgrind
BIN="$ROOT/$BUILD/bin"
LOGS="$ROOT/$BUILD/logs"
SEEDS=${VG_SEEDS:-150}
SCALE=${VG_SCALE:-4}
UNIT_SCALE=${VG_UNIT_SCALE:-20}
ONLY=${VG_ONLY:-}
PROGRAM_TIMEOUT=${VG_PROGRAM_TIMEOUT:-2400}
SUPP="$ROOT/tests/valgrind.supp"
# Programs that abort through assert() on purpose (scan_logs says why).
ABORT_OK="test_core_asserts"

command -v valgrind >/dev/null || { echo "valgrind.sh: valgrind is not installed" >&2; exit 2; }
case "$ROOT" in
*[[:space:]]*)
    # RAFT_PEER_WRAPPER is split on blanks; a log path with one would be cut in two.
    echo "valgrind.sh: the checkout path '$ROOT' contains a blank; move it" >&2
    exit 2
    ;;
esac

units=""
for f in tests/unit/test_*.c; do units="$units $BUILD/tests/$(basename "$f" .c)"; done
itests=""
for f in tests/integration/test_*.c; do itests="$itests $BUILD/itests/$(basename "$f" .c)"; done
sim="$BUILD/tests/raft_sim"
# tests/integration/test_chaos.c runs the chaos program; it and its peers are traced.
chaos=""
[ -f tests/chaos/main.c ] && chaos="$BUILD/tests/raft_chaos"
# lazyfs (the chaos run's power cuts, test_lazyfs) where libfuse3 is installed; the
# programs that start it are traced, so it is checked too.
lazyfs=""
[ -d tests/lazyfs ] && pkg-config --exists fuse3 2>/dev/null && lazyfs="$BUILD/tests/lazyfs"

if [ "${VG_NO_BUILD:-0}" != 1 ]; then
    echo "== build into $BUILD (-O1 -g)"
    mkdir -p "$ROOT/$(dirname "$BUILD")" # a fresh clone has no build/ for the log yet
    # -Wno-maybe-uninitialized: at -O1 gcc 12 warns falsely about variables that are set
    # through a pointer by a callee that returns an error otherwise (storage_load.c).
    # shellcheck disable=SC2086
    make -j2 --no-print-directory BUILD=$BUILD BIN=$BUILD/bin \
        OPT="-O1 -g -fno-omit-frame-pointer" CFLAGS=-Wno-maybe-uninitialized \
        "$BUILD/bin/raft_peer" "$BUILD/bin/user_cli" "$BUILD/bin/raft_game" \
        $units $itests $sim $chaos $lazyfs >"$ROOT/$BUILD.make.log" 2>&1 || {
        tail -30 "$ROOT/$BUILD.make.log"
        echo "valgrind.sh: build failed (whole log: $BUILD.make.log)" >&2
        exit 2
    }
fi

rm -rf "$LOGS"
mkdir -p "$LOGS" || exit 2

VG="valgrind --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect"
VG="$VG --errors-for-leak-kinds=definite,indirect --num-callers=30 --suppressions=$SUPP"
VG="$VG ${VG_EXTRA:-}"
export RAFT_BIN_DIR="$BIN"
export RAFT_CHAOS_BIN="$ROOT/$BUILD/tests/raft_chaos"
export RAFT_LAZYFS_BIN="$ROOT/$BUILD/tests/lazyfs"

programs=0
failed=""
start_all=$(date +%s)

# Counts what the logs of one label say: "processes checked errors leaks", and lists
# the logs with findings in $LOGS/LABEL.findings.
scan_logs() {
    label=$1
    : >"$LOGS/$label.findings"
    for log in "$LOGS/$label".*.vg "$LOGS/$label"-peer.*.vg; do
        [ -f "$log" ] || continue
        awk -v logf="$log" -v findings="$LOGS/$label.findings" -v label="$label" -v abort_ok="$ABORT_OK" '
            # test_core_asserts aborts on purpose, through assert(), to show the core'"'"'s
            # assertions are compiled in: such an abort is its expected result, and the
            # SIGABRT summary line valgrind writes for it is no error. Any other abort is.
            /^==[0-9]+== Process terminating with default action of signal 6 / && index(" " abort_ok " ", " " label " ") {
                aborting = 1; next
            }
            aborting && /__assert_fail/ { aborting = 0; asserted++; next }
            aborting && /HEAP SUMMARY:/ { aborting = 0; err++ }
            # The first line of every memcheck error kind, and crashes.
            /^==[0-9]+== (Invalid (read|write|free)|Conditional jump|Use of uninitialised|Syscall param|Mismatched free|Source and destination overlap|Argument .* of function|Jump to the invalid address|Stack overflow|Invalid alignment|Fishy value|.*contains uninitialised|Process terminating with default action of signal (4|6|7|8|11) )/ { err++ }
            / are (definitely|indirectly) lost in loss record / { leak++ }
            /HEAP SUMMARY:/ { checked = 1 }
            /ERROR SUMMARY: [0-9]+ errors/ { for (i = 1; i <= NF; i++) if ($i == "SUMMARY:") summary = $(i + 1) }
            END {
                # Anything the summary counts that the patterns above missed is an error too.
                if (summary + 0 > err + leak + asserted) err = summary - leak - asserted
                if (err + leak > 0) print logf >> findings
                printf "%d %d %d\n", checked, err, leak
            }' "$log"
    done | awk '{ n++; c += $1; e += $2; l += $3 } END { printf "%d %d %d %d\n", n, c, e, l }'
}

total_procs=0
total_checked=0
total_errors=0
total_leaks=0
report=""

# run LABEL COMMAND...: runs it under valgrind (children traced), then scans its logs.
run() {
    label=$1
    shift
    case "$label" in *"$ONLY"*) ;; *) return 0 ;; esac
    programs=$((programs + 1))
    t0=$(date +%s)
    # shellcheck disable=SC2086
    # The system's programs that tests call (sh, sort, rm, timeout, the valgrind of a
    # wrapped peer) run natively: their leaks are not ours.
    timeout --kill-after=30 "$PROGRAM_TIMEOUT" $VG --trace-children=yes \
        --trace-children-skip='/bin/*,/usr/bin/*,/sbin/*,/usr/sbin/*,/usr/local/bin/*' \
        --log-file="$LOGS/$label.%p.vg" "$@" >"$LOGS/$label.out" 2>&1
    rc=$?
    t1=$(date +%s)
    set -- $(scan_logs "$label")
    procs=$1 checked=$2 errors=$3 leaks=$4
    total_procs=$((total_procs + procs))
    total_checked=$((total_checked + checked))
    total_errors=$((total_errors + errors))
    total_leaks=$((total_leaks + leaks))
    verdict=ok
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 99 ]; then
        verdict="FAILED (exit $rc)"
        failed="$failed $label"
        tail -25 "$LOGS/$label.out"
    fi
    [ "$errors" -gt 0 ] && verdict="$verdict, $errors valgrind errors"
    [ "$leaks" -gt 0 ] && verdict="$verdict, $leaks leaks"
    line=$(printf '%-28s %5ss %4d processes (%d leak-checked) %s' "$label" $((t1 - t0)) \
        "$procs" "$checked" "$verdict")
    echo "$line"
    report="$report
$line"
    if [ -s "$LOGS/$label.findings" ]; then
        while read -r log; do
            echo "---- $log"
            sed '1,/Parent PID/d' "$log" | head -60
        done <"$LOGS/$label.findings"
    fi
}

echo "== unit tests (time bounds x$UNIT_SCALE)"
# Their few time bounds (a codec round trip, opening a million-entry log) are checked
# against this much slower code: memcheck runs CPU-bound code 20 to 50 times slower.
export RAFT_TEST_TIMEOUT_SCALE="$UNIT_SCALE"
for t in $units; do
    run "$(basename "$t")" "$t"
done

echo "== simulator: $SEEDS seeds, no mutant hunt"
run raft_sim "$sim" --seeds "$SEEDS" --jobs 2

echo "== integration tests: every peer under valgrind, timeouts x$SCALE"
export RAFT_TEST_TIMEOUT_SCALE="$SCALE"
for t in $itests; do
    label=$(basename "$t")
    export RAFT_PEER_WRAPPER="$VG --log-file=$LOGS/$label-peer.%p.vg"
    # One test at a time: clusters side by side under valgrind starve each other.
    run "$label" "$t" --jobs 1
done
unset RAFT_PEER_WRAPPER RAFT_TEST_TIMEOUT_SCALE

end_all=$(date +%s)
echo
echo "== valgrind summary ($(( (end_all - start_all) / 60 )) min $(( (end_all - start_all) % 60 )) s)"
echo "programs run:        $programs"
echo "processes checked:   $total_procs ($total_checked exited with a leak check)"
echo "valgrind errors:     $total_errors"
echo "leaks:               $total_leaks"
echo "failed programs:     ${failed:-none}"
echo "logs:                $LOGS"
echo "$report"
if [ "$programs" -eq 0 ]; then
    echo "valgrind.sh: no program matched VG_ONLY=$ONLY" >&2
    exit 2
fi
[ -z "$failed" ] && [ "$total_errors" -eq 0 ] && [ "$total_leaks" -eq 0 ]
