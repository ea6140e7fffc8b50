# berth: `make demo` and `make test` are the two commands of the README's quick start.
BUILD ?= build/release
FUZZ_BUILD ?= build/fuzz
JOBS ?= $(shell nproc)
BERTH := $(BUILD)/src/cli/berth

.PHONY: all deps build test unit system fuzz fuzz-build demo bench clean format

all: build

deps:
	@scripts/install-deps

build: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

unit: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# Inside a network namespace of their own (scripts/in-netns); the Debian image some tests use
# is made first, while the machine's network is in reach.
system: build
	@scripts/make-debian-rootfs >/dev/null || true
	BERTH=$(abspath $(BERTH)) BERTH_TOOLS=$(abspath $(BUILD)/tests/tools) \
	  scripts/in-netns bats --print-output-on-failure tests/system

fuzz-build: deps
	@CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -G Ninja -DBERTH_FUZZ=ON \
	  -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS)

# A short run of every fuzz target over its seed corpus; FUZZ_SECONDS=300 for a real session.
FUZZ_SECONDS ?= 15
fuzz: fuzz-build
	scripts/run-fuzzers $(FUZZ_BUILD)/tests/fuzz $(FUZZ_SECONDS)

test: unit system fuzz

demo: build
	scripts/demo $(abspath $(BERTH))

bench: build
	@scripts/install-deps --bench
	bench/run-all $(abspath $(BERTH))

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf build
