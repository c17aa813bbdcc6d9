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
	node build/labnet.js start $(ARGS)

test-deps:
	if [ "$$(id -u)" = 0 ]; then bash .ci/install-deps.sh; else echo "make test: not root, using the Debian packages already installed"; fi

test: test-deps build
	set +e
	npx ava --tap $(TESTS) | node build/test/support/tap-summary.js "$${PIPESTATUS[0]}"

bench-deps:
	bash .ci/install-deps.sh --bench

# `make bench` runs every test/bench/*.bench.ts; `make bench BENCH=http` just one.
BENCH ?=
bench: bench-deps build
	for f in build/test/bench/$${BENCH:-*}.bench.js; do echo "== $$f"; node "$$f" $(ARGS); done

clean:
	rm -rf build
