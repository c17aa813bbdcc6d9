# labnet: `make start` runs the lab, `make test` runs every test, `make bench` the benchmarks.
# Each target installs what it needs (npm packages; Debian packages when run as root).
SHELL := /bin/bash
.ONESHELL:
.SHELLFLAGS := -eu -o pipefail -c
ARGS ?=

.PHONY: all install build start lint test test-deps bench bench-deps clean

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

# ESLint (typescript-eslint, type-checked rules) and Prettier; no warnings allowed.
lint: install
	npx eslint . --max-warnings 0
	npx prettier --check .

# Ends with "N passed, N failed"; a crashed or timed-out ava run counts as a failure.
test: test-deps build
	node build/test/support/run-tests.js $(TESTS)

bench-deps:
	bash .ci/install-deps.sh --bench

# `make bench` runs every test/bench/*.bench.ts; `make bench BENCH=http` just one.
BENCH ?=
bench: bench-deps build
	for f in build/test/bench/$${BENCH:-*}.bench.js; do case "$$f" in *soak*.bench.js) [ -n "$(BENCH)" ] || continue;; esac; echo "== $$f"; node "$$f" $(ARGS); done

# `make soak`: a class of 100 students for 10 minutes against the real process (test/bench/soak.bench.ts;
# not in `make test`, skipped by a plain `make bench`); as root also 100 DHCP clients in namespaces.
# Duration and class size: make soak MINUTES=2 STUDENTS=30 (defaults 10 and 100); more: ARGS="--dhcp off".
# First-login cost alone: make bench BENCH=soak-login.
# Memory: the table's "live heap" row (heap in use after each full GC) is what labnet keeps; RSS also
# carries V8's old-space fragmentation, which creeps ~1 MB/min under load until a memory-reducing GC.
# MINUTES=15 measures about 12 minutes after the warm-up (10: about 7). ARGS="--v8-flags --trace-gc",
# "--heap-snapshots DIR" (then node build/test/bench/heap-diff.js on them; they spoil the run's other
# figures), "--lab-history JSON".
MINUTES ?= 10
STUDENTS ?= 100
.PHONY: soak
soak: build
	node build/test/bench/soak.bench.js --students $(STUDENTS) --minutes $(MINUTES) $(ARGS)

clean:
	rm -rf build
