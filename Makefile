# The two commands a newcomer needs: `make demo` and `make test`.
# Everything else is CMake (build/ for release, build-asan/ for ASan+UBSan
# and the fuzzers, build-tsan/ for ThreadSanitizer).
JOBS ?= $(shell nproc)
BUILD ?= build

.PHONY: all deps build build-asan build-tsan test test-fast demo bench clean

all: build

deps:
	@bash scripts/bootstrap.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

build-asan: deps
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DQN_SANITIZE=ON -DQN_FUZZ=ON \
	  -DCMAKE_C_COMPILER=clang >/dev/null
	@cmake --build build-asan -j $(JOBS)

# Only the thread-heavy unit tests are registered here (tests/CMakeLists.txt).
build-tsan: deps
	@cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQN_TSAN=ON \
	  -DCMAKE_C_COMPILER=clang >/dev/null
	@cmake --build build-tsan -j $(JOBS)

# The whole suite: release build (unit, CLI and oracle tests; run on a
# private empty /tmp where the system allows it, and failed if they leave
# anything there: tests/helpers/check_tmp_clean.sh), then the unit
# tests again under AddressSanitizer + UBSan with short libFuzzer runs of the
# Parquet and CSV readers (fuzz.parquet_short, fuzz.csv_short, 30 s each),
# then the thread-heavy unit tests under ThreadSanitizer (tsan.*).
test: build build-asan build-tsan
	@bash scripts/setup-node.sh
	bash tests/helpers/check_tmp_clean.sh $(BUILD) --output-on-failure -j $(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
	  ctest --output-on-failure -j $(JOBS)
	cd build-tsan && ctest --output-on-failure -j $(JOBS)

demo: build
	@bash scripts/demo.sh $(BUILD)/quern demo-out

bench: build
	@bash bench/run_all.sh $(BUILD)/quern

clean:
	rm -rf build build-asan build-tsan demo-out
