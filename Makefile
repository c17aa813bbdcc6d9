# labnet: `make start` runs the lab, `make test` runs every test, `make bench` the benchmarks.
# Each target installs what it needs (npm packages; Debian packages when run as root).
SHELL := /bin/bash
.ONESHELL:
.SHELLFLAGS := -eu -o pipefail -c
ARGS ?=

.PHONY: all install build start test test-deps bench bench-deps clean

all: build

node_modules/.install-stamp: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

install: node_modules/.install-stamp

build: install
	npm run --silent build

start: build
	node build/core/cli.js start $(ARGS)

test-deps:
	if [ "$$(id -u)" = 0 ]; then bash .ci/install-deps.sh; else echo "make test: not root, using the Debian packages already installed"; fi

test: test-deps build
	set +e
	npx ava --tap $(TESTS) | node build/test/support/tap-summary.js "$${PIPESTATUS[0]}"

bench-deps:
	bash .ci/install-deps.sh --bench

bench: bench-deps build
	node build/test/bench/run.js $(ARGS)

clean:
	rm -rf build
