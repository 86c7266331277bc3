# Thin front for CMake. `make` builds into build/, `make test` runs every test
# (normal build and an ASan+UBSan build, and the multi-threaded tests under
# ThreadSanitizer), `make soak` thousands of seeds of the sync simulation
# and SOAK_KILLS kill -9s of nodes of a 3-node cluster under writes,
# `make demo` runs the demo and
# `make bench` the benchmarks (kernels, start-up, host calls, guest
# database, durable calls, calls through the node and over HTTP, sync,
# the Faasm ABI).
BUILD      ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all deps build test test-fast test-asan test-tsan demo bench fuzz fuzz-tiers soak clean

all: build

deps:
	@./scripts/install-deps.sh

$(BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

$(ASAN_BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DWEFT_SANITIZE=ON \
	      -DCMAKE_C_FLAGS_DEBUG="-O1 -g"

# make test's ctest: BUILD/cores.json offers JOBS `cores` slots, one for
# each test that computes, and -j TEST_JOBS lets the tests labelled `waits`
# (timers, peers, partitions) run beside them (tests/cores/CMakeLists.txt).
TEST_JOBS ?= $(shell echo $$(( 2 * $(JOBS) )))
cores_spec = printf '{"version":{"major":1,"minor":0},"local":[{"cores":[{"id":"0","slots":%s}]}]}\n' \
	$(JOBS) >$(1)/cores.json
CTEST = ctest --output-on-failure -j $(TEST_JOBS) --resource-spec-file cores.json

test-fast: build
	$(call cores_spec,$(BUILD))
	cd $(BUILD) && $(CTEST)

test-asan: deps $(ASAN_BUILD)/CMakeCache.txt
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	$(call cores_spec,$(ASAN_BUILD))
	cd $(ASAN_BUILD) && $(CTEST) -LE bench

# ThreadSanitizer: only the multi-threaded tests (label tsan: tests/tsan/ and
# the node layer's),
# in a build of their own; a data race fails them (TSan's exit status).
$(TSAN_BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWEFT_TSAN=ON

test-tsan: deps $(TSAN_BUILD)/CMakeCache.txt
	cmake --build $(TSAN_BUILD) -j $(JOBS) --target test_threads test_node test_replicate test_faasm test_node_sched
	$(call cores_spec,$(TSAN_BUILD))
	cd $(TSAN_BUILD) && $(CTEST) -L tsan

test: test-fast test-asan test-tsan

demo: build
	./examples/demo.sh $(BUILD)

bench: build
	./bench/run.sh $(BUILD)
	./bench/startup.sh $(BUILD)
	./bench/hostcall.sh $(BUILD)
	./bench/dbbench.sh $(BUILD)
	./bench/crdtbench.sh $(BUILD)
	./bench/calls.sh $(BUILD)
	./bench/nodecall.sh $(BUILD)
	./bench/http.sh $(BUILD)
	$(BUILD)/bench/sync_sim 3 20000
	./bench/sync.sh $(BUILD)
	./bench/faasm.sh $(BUILD)
	./bench/cosmbench.sh $(BUILD)

# Seeds 1..SOAK_SEEDS of the replication simulation (tests/sync/sim.c:
# loss, duplication, reordering, partitions, restarts); make test runs 200.
# A failing seed prints the command that reruns it alone. Then SOAK_KILLS
# kill -9s of the nodes of a 3-node cluster under writes, in turn, each
# restarted (tests/sync/sync_e2e.py kill9; make test runs one).
SOAK_SEEDS ?= 5000
SOAK_KILLS ?= 30

soak: build
	cd $(BUILD) && SYNC_SEEDS=$(SOAK_SEEDS) ./test_repl sim_seeds
	cd $(BUILD) && SYNC_SEEDS=$(SOAK_SEEDS) ./test_repl sim_snapshot_seeds
	SYNC_KILL_ROUNDS=$(SOAK_KILLS) python3 tests/sync/sync_e2e.py $(BUILD)/weft \
	    $(BUILD)/tests/sync/guests/sync_app.wasm kill9

# libFuzzer run of tests/fuzz/fuzz_module.c (clang, ASan+UBSan) for
# FUZZ_SECONDS on a working corpus in $(FUZZ_BUILD): the seed corpus and
# saved regressions, added to what earlier runs grew (kept, so a second
# run goes on from the first; rm -rf $(FUZZ_BUILD)/corpus* starts over).
# Crashing inputs land in $(FUZZ_BUILD)/crashes/; keep one as a regression
# by copying it into tests/fuzz/regressions/.
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 600

fuzz: deps
	cmake -S . -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=clang -DWEFT_FUZZ=ON \
	      -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_module
	mkdir -p $(FUZZ_BUILD)/corpus $(FUZZ_BUILD)/crashes
	find tests/fuzz/corpus tests/fuzz/regressions -type f ! -name '.*' \
	     -exec cp {} $(FUZZ_BUILD)/corpus/ \;
	$(FUZZ_BUILD)/fuzz_module -max_total_time=$(FUZZ_SECONDS) -timeout=30 \
	      -rss_limit_mb=2048 -print_final_stats=1 -dict=tests/fuzz/wasm.dict \
	      -artifact_prefix=$(FUZZ_BUILD)/crashes/ $(FUZZ_BUILD)/corpus

# The same for tests/fuzz/fuzz_tiers.c: every input module in every tier,
# aborting on any difference (results, traps, backtraces, fuel, memory).
# Seeds: the corpora, the regressions and FUZZ_GEN modules of
# gen_modules.py (seed FUZZ_GEN_SEED), which have the loops and calls
# random bytes rarely reach. Run it niced: nice -n 19 make fuzz-tiers.
FUZZ_GEN      ?= 300
FUZZ_GEN_SEED ?= 19

fuzz-tiers: deps
	cmake -S . -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=clang -DWEFT_FUZZ=ON \
	      -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_tiers
	mkdir -p $(FUZZ_BUILD)/corpus-tiers $(FUZZ_BUILD)/crashes-tiers
	find tests/fuzz/corpus tests/fuzz/corpus_tiers tests/fuzz/regressions -type f ! -name '.*' \
	     -exec cp {} $(FUZZ_BUILD)/corpus-tiers/ \;
	rm -rf $(FUZZ_BUILD)/gen-tiers
	python3 tests/fuzz/gen_modules.py $(FUZZ_GEN_SEED) $(FUZZ_GEN) $(FUZZ_BUILD)/gen-tiers >/dev/null
	cp $(FUZZ_BUILD)/gen-tiers/*.wasm $(FUZZ_BUILD)/corpus-tiers/
	$(FUZZ_BUILD)/fuzz_tiers -max_total_time=$(FUZZ_SECONDS) -timeout=30 \
	      -rss_limit_mb=2048 -print_final_stats=1 -dict=tests/fuzz/wasm.dict \
	      -artifact_prefix=$(FUZZ_BUILD)/crashes-tiers/ $(FUZZ_BUILD)/corpus-tiers

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(FUZZ_BUILD)
