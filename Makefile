# The two commands: `make run` and `make test`. Both install what is missing first.
.PHONY: run test deps build build-asan test-release test-asan clean

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

test-release: build
	ctest --preset release

test-asan: build-asan
	ctest --preset asan

# Release suite first (fast feedback), then the same suite under ASan+UBSan.
test: test-release test-asan

clean:
	rm -rf build
