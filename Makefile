# The two commands: `make run` and `make test`. Both install what is missing first.
.PHONY: run test deps build build-asan build-tsan build-fuzz test-release test-asan test-tsan test-fuzz clean

deps:
	tools/install_deps.sh

build: deps
	cmake --preset release
	cmake --build --preset release

build-asan: deps
	cmake --preset asan
	cmake --build --preset asan

run: build
	./build/release/bin/eventnode --config etc/node.yaml

# A whole cluster on this machine through Redis (tools/cluster.sh): two gateways and each role; Ctrl-C stops it.
.PHONY: cluster
cluster: build
	tools/cluster.sh

test-release: build
	ctest --preset release

test-asan: build-asan
	ctest --preset asan

# ThreadSanitizer over the core's unit tests (bus, executors, scheduler, gateway parts) and the
# plugins' (utxo's engine and P2P links, pow_batches, solana_listener, meter: ctest label `plugin`).
# The Python integration suites stay out: they would need the node and every plugin built a fourth
# time, and make test must stay well under 90 minutes on 2 cores.
build-tsan: deps
	cmake --preset tsan
	cmake --build --preset tsan

test-tsan: build-tsan
	ctest --preset tsan

# The libFuzzer targets (tests/fuzz, clang-14): a short seeded run of each over
# its committed corpus (docs/security.md, "Fuzzing", for the long runs).
build-fuzz: deps
	cmake --preset fuzz
	cmake --build --preset fuzz

test-fuzz: build-fuzz
	ctest --preset fuzz

# Release suite first (fast feedback), then the same suite under ASan+UBSan, then the core's and
# plugins' unit tests under TSan, then the fuzz targets.
test: test-release test-asan test-tsan test-fuzz

clean:
	rm -rf build
