# Raft Village build. `make` builds bin/, `make test` runs every test,
# `make SANITIZE=1 test` does the same with ASan+UBSan into build/asan/.
# Sources are found by directory, so adding a file needs no edit here:
#   raft_peer/core/   the pure Raft core        -> libraft_core.a
#   common/           shared by every program   -> libcommon.a
#   raft_peer/        the daemon (main.c apart) -> libpeer.a + bin/raft_peer
#   user_cli/         the client               -> libcli.a  + bin/user_cli
#   visualization/    the game                 -> libgame.a + bin/raft_game
#   tests/unit/       one Criterion program per test_*.c
#   tests/scenario/   the scenario language's interpreter -> libscenario.a (test_scenarios)
#   tests/sim/        the deterministic simulator -> raft_sim
#   tests/integration one Criterion program per test_*.c, real processes
#   tests/crash/      the crash-point explorer -> raft_crash (storage over tests/sim/sim_fs.c)
#   tests/lazyfs/     a FUSE file system that loses unsynced data on command (if fuse3)

CC      ?= cc
PKGS    := inih json-c sdl2 SDL2_ttf libedit zlib
CSTD    := -std=c11 -D_GNU_SOURCE
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
OPT     ?= -O2 -g
ifeq ($(SANITIZE),1)
  BUILD := build/asan
  BIN   := build/asan/bin
  OPT   := -O1 -g -fno-omit-frame-pointer
  SAN   := -fsanitize=address,undefined -fno-sanitize-recover=all
else
  BUILD := build/release
  BIN   := bin
  SAN   :=
endif
CFLAGS_ALL = $(CSTD) $(WARN) $(OPT) $(SAN) -I. $(CFLAGS)
# On a fresh machine the first `make` (or `make test`, or ./launch_raft_peer.sh) installs
# the Debian packages it needs, so the README's two commands are the whole set-up.
ifeq ($(filter clean format check-format,$(MAKECMDGOALS)),)
ifeq ($(shell pkg-config --exists $(PKGS) criterion fuse3 2>/dev/null && command -v clang >/dev/null && echo ok),)
$(info Build dependencies are missing: running scripts/install-deps.sh (uses sudo when not root))
ifneq ($(shell bash scripts/install-deps.sh >&2 && echo ok),ok)
$(error scripts/install-deps.sh failed: run it by hand to see why)
endif
endif
endif
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CRIT_LIBS  := $(shell pkg-config --libs criterion 2>/dev/null)
LDLIBS_ALL = $(SAN) $(PKG_LIBS) -lm $(LDFLAGS)

CORE_SRC := $(wildcard raft_peer/core/*.c)
COMMON_SRC := $(wildcard common/*.c)
# The daemon: its glue in raft_peer/, the layers it stands on in net/, storage/ and sm/.
PEER_SRC := $(filter-out raft_peer/main.c,$(wildcard raft_peer/*.c raft_peer/net/*.c raft_peer/storage/*.c raft_peer/sm/*.c))
CLI_SRC  := $(filter-out user_cli/main.c,$(wildcard user_cli/*.c))
GAME_SRC := $(filter-out visualization/main.c,$(wildcard visualization/*.c))
UNIT_SRC := $(wildcard tests/unit/test_*.c)
SIM_SRC  := $(wildcard tests/sim/*.c)
ITEST_SRC := $(wildcard tests/integration/test_*.c)
TESTLIB_SRC := $(wildcard tests/lib/*.c)
SCEN_SRC := $(wildcard tests/scenario/*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
CORE_LIB   := $(BUILD)/libraft_core.a
MUT_LIB    := $(BUILD)/libraft_core_mutations.a
COMMON_LIB := $(BUILD)/libcommon.a
PEER_LIB   := $(BUILD)/libpeer.a
CLI_LIB    := $(BUILD)/libcli.a
GAME_LIB   := $(BUILD)/libgame.a
TEST_LIB   := $(BUILD)/libtestlib.a
SCEN_LIB   := $(BUILD)/libscenario.a
ALL_LIBS    = $(GAME_LIB) $(CLI_LIB) $(PEER_LIB) $(COMMON_LIB) $(CORE_LIB)

PROGRAMS := $(BIN)/raft_peer $(BIN)/user_cli $(BIN)/raft_game
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
ITEST_BINS := $(patsubst tests/integration/%.c,$(BUILD)/itests/%,$(ITEST_SRC))
SIM_BIN := $(BUILD)/tests/raft_sim
EXTRA_PROGRAMS := $(if $(wildcard bench/*.c),$(BIN)/raft_bench)

.PHONY: all test unit sim crash integration purity clean format check-format bench
# Keep objects built through pattern rules: make would delete them as intermediates.
.SECONDARY:
all: $(PROGRAMS) $(EXTRA_PROGRAMS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(PKG_CFLAGS) -MMD -MP -c $< -o $@

# The mutated core and storage: same sources, deliberate bugs compiled in behind a switch.
$(BUILD)/objmut/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -DRAFT_MUTATIONS -DSTORAGE_MUTATIONS -MMD -MP -c $< -o $@

define archive
	@mkdir -p $(dir $@)
	@rm -f $@
	ar rcs $@ $^
endef
$(CORE_LIB): $(call obj,$(CORE_SRC)); $(archive)
$(MUT_LIB): $(patsubst %.c,$(BUILD)/objmut/%.o,$(CORE_SRC)); $(archive)
$(COMMON_LIB): $(call obj,$(COMMON_SRC)); $(archive)
$(PEER_LIB): $(call obj,$(PEER_SRC)); $(archive)
$(CLI_LIB): $(call obj,$(CLI_SRC)); $(archive)
$(GAME_LIB): $(call obj,$(GAME_SRC)); $(archive)
$(TEST_LIB): $(call obj,$(TESTLIB_SRC)); $(archive)
$(SCEN_LIB): $(call obj,$(SCEN_SRC)); $(archive)

$(BIN)/raft_peer: $(call obj,raft_peer/main.c) $(PEER_LIB) $(COMMON_LIB) $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(LDLIBS_ALL)
$(BIN)/user_cli: $(call obj,user_cli/main.c) $(CLI_LIB) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(LDLIBS_ALL)
$(BIN)/raft_game: $(call obj,visualization/main.c) $(GAME_LIB) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(LDLIBS_ALL)
# raft_bench's limits and restart modes write with the peer's own storage module.
$(BIN)/raft_bench: $(call obj,$(wildcard bench/*.c)) $(TEST_LIB) $(PEER_LIB) $(COMMON_LIB) $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(LDLIBS_ALL) -pthread

$(BUILD)/tests/test_%: $(call obj,tests/unit/test_%.c) $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(LDLIBS_ALL) $(CRIT_LIBS)
$(BUILD)/itests/test_%: $(call obj,tests/integration/test_%.c) $(TEST_LIB) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(LDLIBS_ALL) $(CRIT_LIBS)
# test_snapshot_install writes snapshots a leader could send: in the key table's own
# canonical order (kv_hash), so it links the table rather than copying its hash.
$(BUILD)/itests/test_snapshot_install: $(call obj,raft_peer/sm/kv_store.c raft_peer/sm/prefault.c)
# The real storage code, built to run over the model file system of tests/sim/sim_fs.c
# (linked instead of raft_peer/storage/storage_io.c) in the simulator and the crash explorer.
STORE_SRC := $(filter-out raft_peer/storage/storage_io.c,$(wildcard raft_peer/storage/storage*.c)) \
             raft_peer/storage/snapshot_store.c raft_peer/storage/crc32c.c common/error_message.c
STORE_MODEL_LIB := $(BUILD)/libstorage_model.a
$(STORE_MODEL_LIB): $(patsubst %.c,$(BUILD)/objmut/%.o,$(STORE_SRC)); $(archive)
$(SIM_BIN): $(call obj,$(SIM_SRC)) $(STORE_MODEL_LIB) $(MUT_LIB)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(LDLIBS_ALL) $(CRIT_LIBS)
CRASH_SRC := $(wildcard tests/crash/*.c)
CRASH_BIN := $(BUILD)/tests/raft_crash
$(CRASH_BIN): $(patsubst %.c,$(BUILD)/objmut/%.o,$(CRASH_SRC) tests/sim/sim_fs.c) $(STORE_MODEL_LIB)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(LDLIBS_ALL)

# The scenario tests (docs/SCENARIOS.md): the Criterion file runs every
# tests/scenarios/*.txt through the interpreter in tests/scenario/, over the core alone.
$(BUILD)/tests/test_scenarios: $(call obj,tests/unit/test_scenarios.c) $(SCEN_LIB) $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(LDLIBS_ALL) $(CRIT_LIBS)

# raft_bench's own unit tests link its load generator (test_etcd_client: its etcd client).
BENCH_LIB := $(BUILD)/libbench.a
$(BENCH_LIB): $(call obj,$(filter-out bench/main.c,$(wildcard bench/*.c))); $(archive)
$(BUILD)/tests/test_bench: $(call obj,tests/unit/test_bench.c) $(BENCH_LIB) $(TEST_LIB) $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(LDLIBS_ALL) $(CRIT_LIBS) -pthread
$(BUILD)/tests/test_etcd_client: $(call obj,tests/unit/test_etcd_client.c) $(BENCH_LIB) $(TEST_LIB) $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(LDLIBS_ALL) $(CRIT_LIBS) -pthread

# --- chaos: tests/chaos/ (real peers under faults, linearizability checker) ---
CHAOS_SRC := $(filter-out tests/chaos/main.c,$(wildcard tests/chaos/*.c))
CHAOS_LIB := $(BUILD)/libchaos.a
$(CHAOS_LIB): $(call obj,$(CHAOS_SRC)); $(archive)
$(BUILD)/tests/test_linearizability: $(call obj,tests/unit/test_linearizability.c) $(CHAOS_LIB) $(TEST_LIB) $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(LDLIBS_ALL) $(CRIT_LIBS)
CHAOS_BIN := $(BUILD)/tests/raft_chaos
CHAOS_SECONDS ?= 600
export RAFT_CHAOS_BIN := $(abspath $(CHAOS_BIN))
$(CHAOS_BIN): $(call obj,tests/chaos/main.c) $(CHAOS_LIB) $(TEST_LIB) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(LDLIBS_ALL) -pthread
# tests/integration/test_chaos.c runs a short $(CHAOS_BIN); `make chaos` a long one.
integration: $(CHAOS_BIN) lazyfs
.PHONY: chaos
chaos: $(BIN)/raft_peer $(CHAOS_BIN) lazyfs
	$(CHAOS_BIN) --seconds $(CHAOS_SECONDS)

# --- lazyfs: tests/lazyfs/, the chaos run's power cuts (docs/CHAOS.md) ----
# Built only where pkg-config finds libfuse3; without it the chaos run and
# tests/integration/test_lazyfs.c skip the power cuts and say so.
LAZYFS_SRC := $(wildcard tests/lazyfs/*.c)
LAZYFS_BIN := $(BUILD)/tests/lazyfs
export RAFT_LAZYFS_BIN := $(abspath $(LAZYFS_BIN))
.PHONY: lazyfs
ifeq ($(shell pkg-config --exists fuse3 2>/dev/null && echo yes),yes)
$(call obj,$(LAZYFS_SRC)): PKG_CFLAGS += $(shell pkg-config --cflags fuse3)
$(LAZYFS_BIN): $(call obj,$(LAZYFS_SRC))
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(SAN) $(shell pkg-config --libs fuse3) $(LDFLAGS)
lazyfs: $(LAZYFS_BIN)
else
lazyfs:
	@echo "lazyfs: libfuse3 not found by pkg-config (scripts/install-deps.sh installs it): not built, power cuts skipped"
endif

# Its page cache and directory journal need no FUSE: unit-tested everywhere.
$(BUILD)/tests/test_lazyfs_model: $(call obj,tests/unit/test_lazyfs_model.c tests/lazyfs/page_cache.c tests/lazyfs/dir_journal.c)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(LDLIBS_ALL) $(CRIT_LIBS)

# --- tests ---------------------------------------------------------------
# The simulator (docs/SIMULATOR.md). Sanitized builds run about 10x slower: fewer seeds.
SEEDS ?= $(if $(filter 1,$(SANITIZE)),300,2000)
SIM_JOBS ?= 2
SIM_MUTANT_SEEDS ?= 5000
SIM_ARGS = $(if $(SEED),--seed $(SEED),--seeds $(SEEDS) --jobs $(SIM_JOBS))$(if $(MUTATION), --mutation $(MUTATION))
export RAFT_BIN_DIR := $(abspath $(BIN))

test: all purity unit sim crash integration
# The core's sources do no I/O; its archive exports only raft_ names (state.h says why);
# the daemon's leaf folders include no glue and its glue files call no one in a circle
# (docs/ARCHITECTURE.md), read from the objects.
purity: $(CORE_LIB) $(PEER_LIB) $(call obj,raft_peer/main.c)
	@sh tests/check_core_purity.sh
	@sh tests/check_core_symbols.sh $(CORE_LIB)
	@sh tests/check_layers.sh $(BUILD)/obj
unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t; done
# make sim: SEEDS seeds, SIM_PACE_SEEDS more with --pace, then every deliberately
# broken core must be caught, by the direct checks and by the end-to-end properties
# alone (--weak). Under sanitizers the
# --weak hunt is left out: it proves the checks bite, which the release build already
# shows seed for seed (runs are deterministic), and it takes thousands of seeds there.
# make sim SEED=S [MUTATION=name]: replays one seed, nothing else.
SIM_MUTANTS = $(SIM_BIN) --mutants --max-seeds $(SIM_MUTANT_SEEDS) --jobs $(SIM_JOBS)
# Timing changed at runtime too (the lesson pace, docs/SIMULATOR.md).
SIM_PACE_SEEDS ?= 300
SIM_PACE = $(SIM_BIN) --seeds $(SIM_PACE_SEEDS) --pace --jobs $(SIM_JOBS)
sim: $(SIM_BIN)
ifeq ($(SEED)$(MUTATION),)
	@st=0; \
	echo "$(SIM_BIN) $(SIM_ARGS)"; $(SIM_BIN) $(SIM_ARGS) || st=1; \
	echo "$(SIM_PACE)"; $(SIM_PACE) || st=1; \
	echo "$(SIM_MUTANTS)"; $(SIM_MUTANTS) || st=1; \
	if [ "$(SANITIZE)" != 1 ]; then \
	  echo "$(SIM_MUTANTS) --weak"; $(SIM_MUTANTS) --weak || st=1; fi; \
	exit $$st
else
	$(SIM_BIN) $(SIM_ARGS)
endif
# make crash: the crash-point explorer over the real storage (docs/TESTING.md), then
# each deliberately broken storage must be caught.
CRASH_SUBSETS ?= 50
crash: $(CRASH_BIN)
	$(CRASH_BIN) --subsets $(CRASH_SUBSETS)
	$(CRASH_BIN) --mutants --subsets $(CRASH_SUBSETS)
# One test at a time: each starts real clusters, and two at once on two cores make
# timing bounds flaky (and LeakSanitizer reports a leak in Criterion's parallel runner).
integration: all $(ITEST_BINS)
	@set -e; for t in $(ITEST_BINS); do echo "== $$t"; $$t --jobs 1; done

bench: all
	@sh scripts/bench.sh

# The test suite under valgrind memcheck with leak checks, every peer included
# (build/valgrind/, docs/TESTING.md). VG_SEEDS, VG_SCALE, VG_ONLY: see the script.
.PHONY: valgrind
valgrind:
	@sh scripts/valgrind.sh

# --- fuzzing (libFuzzer + ASan + UBSan; docs/FUZZING.md) ----------------
# `make fuzz` runs every target for FUZZ_SECONDS (FUZZ_TARGETS picks some), keeping
# what it learns in build/fuzz/corpus/ and crashes in build/fuzz/artifacts/;
# `make fuzz-smoke` replays the seed corpora plus a few seconds each (CI);
# `make fuzz-seeds` regenerates tests/fuzz/corpus/ from the real code.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 4
FUZZ_DIR     := build/fuzz
FUZZ_PKGS    := json-c inih zlib
# The shared code, the core, and of the daemon only the modules under test (so a
# half-written daemon file cannot break it); the archive links what is used.
FUZZ_SRC     := $(COMMON_SRC) $(CORE_SRC) raft_peer/net/rpc_codec.c raft_peer/sm/state_machine.c \
                raft_peer/sm/kv_store.c raft_peer/sm/prefault.c raft_peer/sm/client_sessions.c raft_peer/sm/sm_snapshot.c \
                raft_peer/net/net_faults.c $(wildcard raft_peer/storage/*.c)
FUZZ_CFLAGS  = $(CSTD) $(WARN) -O1 -g -fno-omit-frame-pointer -I. \
               -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all \
               $(shell pkg-config --cflags $(FUZZ_PKGS) 2>/dev/null)
FUZZ_LIBS    = $(shell pkg-config --libs $(FUZZ_PKGS) 2>/dev/null) -lm
FUZZ_TARGETS ?= $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS    = $(patsubst %,$(FUZZ_DIR)/fuzz_%,$(FUZZ_TARGETS))
FUZZ_LIB     := $(FUZZ_DIR)/libfuzzed.a
# One target $$t: its learnt corpus first (new inputs go there), then the seeds.
FUZZ_RUN = mkdir -p $(FUZZ_DIR)/corpus/$$t $(FUZZ_DIR)/artifacts/$$t && \
           UBSAN_OPTIONS=print_stacktrace=1 $(FUZZ_DIR)/fuzz_$$t -timeout=10 -print_final_stats=1 \
           -artifact_prefix=$(FUZZ_DIR)/artifacts/$$t/ $(FUZZ_DIR)/corpus/$$t tests/fuzz/corpus/$$t

.PHONY: fuzz fuzz-smoke fuzz-seeds
$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@
$(FUZZ_LIB): $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(FUZZ_SRC)); $(archive)
.PRECIOUS: $(FUZZ_DIR)/obj/%.o
$(FUZZ_DIR)/fuzz_%: $(FUZZ_DIR)/obj/tests/fuzz/fuzz_%.o $(FUZZ_LIB)
	$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $@ $^ $(FUZZ_LIBS)
$(FUZZ_DIR)/make_seeds: tests/fuzz/make_seeds.c $(FUZZ_SRC)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CSTD) $(WARN) -O1 -g -fsanitize=address,undefined -I. \
	  $(shell pkg-config --cflags $(FUZZ_PKGS)) -o $@ $^ $(FUZZ_LIBS)

fuzz: $(FUZZ_BINS)
	@set -e; for t in $(FUZZ_TARGETS); do echo "== fuzz_$$t for $(FUZZ_SECONDS) s"; \
	  $(FUZZ_RUN) -max_total_time=$(FUZZ_SECONDS); done
# Quiet unless it fails: the last lines say how many runs and what coverage.
fuzz-smoke: $(FUZZ_BINS)
	@set -e; for t in $(FUZZ_TARGETS); do log=$(FUZZ_DIR)/smoke-$$t.log; \
	  echo "== fuzz_$$t: seeds + $(FUZZ_SMOKE_SECONDS) s"; \
	  if ! ( $(FUZZ_RUN) -max_total_time=$(FUZZ_SMOKE_SECONDS) ) >$$log 2>&1; then \
	    cat $$log; exit 1; fi; grep -E '^(Done|stat::number_of_executed_units)' $$log; done
fuzz-seeds: $(FUZZ_DIR)/make_seeds
	$(FUZZ_DIR)/make_seeds tests/fuzz/corpus

format:
	clang-format -i $$(git ls-files '*.c' '*.h')
check-format:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build bin

-include $(shell find build -name '*.d' 2>/dev/null)
