# Raft Village build. `make` builds bin/, `make test` runs every test,
# `make SANITIZE=1 test` does the same with ASan+UBSan into build/asan/.
# Sources are found by directory, so adding a file needs no edit here:
#   raft_peer/core/   the pure Raft core        -> libraft_core.a
#   common/           shared by every program   -> libcommon.a
#   raft_peer/        the daemon (main.c apart) -> libpeer.a + bin/raft_peer
#   user_cli/         the client               -> libcli.a  + bin/user_cli
#   visualization/    the game                 -> libgame.a + bin/raft_game
#   tests/unit/       one Criterion program per test_*.c
#   tests/sim/        the deterministic simulator -> raft_sim
#   tests/integration one Criterion program per test_*.c, real processes

CC      ?= cc
PKGS    := inih json-c sdl2 SDL2_ttf libedit
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
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CRIT_LIBS  := $(shell pkg-config --libs criterion 2>/dev/null)
LDLIBS_ALL = $(SAN) $(PKG_LIBS) -lm $(LDFLAGS)

CORE_SRC := $(wildcard raft_peer/core/*.c)
COMMON_SRC := $(wildcard common/*.c)
PEER_SRC := $(filter-out raft_peer/main.c,$(wildcard raft_peer/*.c))
CLI_SRC  := $(filter-out user_cli/main.c,$(wildcard user_cli/*.c))
GAME_SRC := $(filter-out visualization/main.c,$(wildcard visualization/*.c))
UNIT_SRC := $(wildcard tests/unit/test_*.c)
SIM_SRC  := $(wildcard tests/sim/*.c)
ITEST_SRC := $(wildcard tests/integration/test_*.c)
TESTLIB_SRC := $(wildcard tests/lib/*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
CORE_LIB   := $(BUILD)/libraft_core.a
MUT_LIB    := $(BUILD)/libraft_core_mutations.a
COMMON_LIB := $(BUILD)/libcommon.a
PEER_LIB   := $(BUILD)/libpeer.a
CLI_LIB    := $(BUILD)/libcli.a
GAME_LIB   := $(BUILD)/libgame.a
TEST_LIB   := $(BUILD)/libtestlib.a
ALL_LIBS    = $(GAME_LIB) $(CLI_LIB) $(PEER_LIB) $(COMMON_LIB) $(CORE_LIB)

PROGRAMS := $(BIN)/raft_peer $(BIN)/user_cli $(BIN)/raft_game
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
ITEST_BINS := $(patsubst tests/integration/%.c,$(BUILD)/itests/%,$(ITEST_SRC))
SIM_BIN := $(BUILD)/tests/raft_sim
EXTRA_PROGRAMS := $(if $(wildcard bench/*.c),$(BIN)/raft_bench)

.PHONY: all test unit sim integration purity clean format check-format bench
all: $(PROGRAMS) $(EXTRA_PROGRAMS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(PKG_CFLAGS) -MMD -MP -c $< -o $@

# The mutated core: same sources, deliberate bugs compiled in behind a switch.
$(BUILD)/objmut/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -DRAFT_MUTATIONS -MMD -MP -c $< -o $@

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
$(SIM_BIN): $(call obj,$(SIM_SRC)) $(MUT_LIB)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(LDLIBS_ALL) $(CRIT_LIBS)

# --- tests ---------------------------------------------------------------
SEEDS ?= 2000
SIM_ARGS = $(if $(SEED),--seed $(SEED),--seeds $(SEEDS))
export RAFT_BIN_DIR := $(abspath $(BIN))

test: all purity unit sim integration
purity:
	@sh tests/check_core_purity.sh
unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t; done
sim: $(SIM_BIN)
	$(SIM_BIN) $(SIM_ARGS)
integration: all $(ITEST_BINS)
	@set -e; for t in $(ITEST_BINS); do echo "== $$t"; $$t; done

bench: all
	@sh scripts/bench.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')
check-format:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build bin

-include $(shell find build -name '*.d' 2>/dev/null)
