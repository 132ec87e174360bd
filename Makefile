# gpurent: everything a fresh machine needs, from the project's own files.
#   make demo   sets up what is missing, then runs the main job end to end
#   make test   sets up what is missing, then runs the whole test suite
#   make setup  installs everything (safe to run twice)

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
# anvil, forge and the solc wrapper come from npm; ape finds them on PATH / in SOLCX_BINARY_PATH.
export PATH := $(CURDIR)/node_modules/.bin:$(BIN):$(PATH)
export SOLCX_BINARY_PATH := $(CURDIR)/.solcx
# Hypothesis profile for the stateful contract tests: ci (quick, default) or long.
export HYPOTHESIS_PROFILE ?= ci

.PHONY: setup setup-chain setup-geth compile test test-long audit typecheck bench bench-gas bench-adversary bench-ipfs bench-launch bench-indexer bench-demo bench-cli bench-io bench-ingress bench-gateway bench-web demo up down status forge-invariants clean podman postgresql redis prometheus web chromium

# Everything: the chain toolchain, plus Kubo and IPFS Cluster (images), podman (containers),
# PostgreSQL (the indexer's production database), Redis, Prometheus (promtool: the alert rules'
# checks; `gpurent up --monitoring`), the web app and Chromium (its tests).
setup: setup-chain .tools/bin/ipfs .tools/bin/ipfs-cluster-service .tools/bin/gpurent-relay podman postgresql redis prometheus web chromium

# What the contracts, the SDK/CLI and their tests need (what `make test` sets up).
setup-chain: $(VENV)/.installed node_modules/.installed .solcx/solc-v0.8.20 .build/__local__.json

.tools/bin/ipfs: tools/install-kubo.sh
	tools/install-kubo.sh

# geth (go-ethereum) for `gpurent up --chain geth`: opt-in, not part of setup (about 10 min to build).
setup-geth: .tools/bin/geth

.tools/bin/geth: tools/install-geth.sh
	tools/install-geth.sh

.tools/bin/ipfs-cluster-service: tools/install-ipfs-cluster.sh
	tools/install-ipfs-cluster.sh

# The agent's compiled ingress relay (tools/relay, standard library only). Optional: without Go
# the agent relays in Python (gpurent.agent.native).
.tools/bin/gpurent-relay: tools/relay/main.go tools/relay/go.mod
	@if command -v go >/dev/null; then mkdir -p .tools/bin && cd tools/relay && GOTOOLCHAIN=local go build -trimpath -o ../../$@ .; \
	else echo "gpurent-relay: Go not found, not built: the agent's ingress relays in Python"; fi

podman:
	tools/install-podman.sh

postgresql:
	tools/install-postgresql.sh

redis:
	tools/install-redis.sh

prometheus:
	tools/install-prometheus.sh

chromium:
	tools/install-chromium.sh

# The web app (web/): its own npm packages, built into web/dist (what the gateway serves at /)
# only when a source changed.
web: web/.stamp

WEB_SOURCES := $(shell find web/src web/public -type f 2>/dev/null) web/index.html web/vite.config.ts \
	$(wildcard web/tsconfig*.json)

web/node_modules/.installed: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	touch $@

web/.stamp: web/node_modules/.installed $(WEB_SOURCES)
	cd web && npm run build
	touch $@

$(VENV)/.installed: requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# py-solc-x looks for a binary named solc-v0.8.20; ours is the WebAssembly compiler behind a
# small Node wrapper (see tools/solc-wrapper.js and TOOLCHAIN notes in README).
.solcx/solc-v0.8.20: tools/solc-wrapper.js
	mkdir -p .solcx
	ln -sfn ../tools/solc-wrapper.js $@
	touch -h $@

.build/__local__.json: $(VENV)/.installed node_modules/.installed .solcx/solc-v0.8.20 $(wildcard contracts/*.sol contracts/*/*.sol) ape-config.yaml
	$(BIN)/ape compile
	$(BIN)/python tools/export_abi.py .build/__local__.json
	touch $@

compile: setup-chain

# The Solidity invariant campaign (volume) first, then the Ape suite (pytest's summary last).
# The suite drives real Kubo nodes and a real podman engine, so it needs everything.
test: setup
	forge test --root .
	$(BIN)/ape test tests -q -p no:cacheprovider

test-long: setup-chain
	FOUNDRY_PROFILE=long forge test --root .
	HYPOTHESIS_PROFILE=long $(BIN)/ape test tests/contracts/test_stateful.py -q

forge-invariants: setup-chain
	forge test --root . -vv

audit: setup-chain
	FOUNDRY_PROFILE=audit $(BIN)/slither . --config-file slither.config.json --fail-medium

# mypy --strict on the SDK and the signed messages (see [tool.mypy] in pyproject.toml).
typecheck: setup-chain
	$(BIN)/python -m mypy

bench: bench-gas bench-adversary bench-ipfs bench-launch bench-indexer bench-demo bench-cli bench-io bench-ingress

bench-gas: setup-chain
	$(BIN)/python bench/gas.py

# Every single-adversary strategy against the contracts on Anvil, 20 seeds each (sim/).
bench-adversary: setup-chain
	$(BIN)/python bench/adversary.py

bench-ipfs: setup
	$(BIN)/python bench/ipfs.py

bench-launch: setup
	$(BIN)/python bench/launch.py

bench-indexer: setup
	$(BIN)/python bench/indexer.py

bench-demo: setup
	$(BIN)/python bench/demo.py

# Wall time of the reading commands (gpus list, jobs show…): over JSON-RPC vs the Ape baseline.
bench-cli: setup-chain
	$(BIN)/python bench/cli_latency.py

# A 500 MB dataset in and a 200 MB result out through a job, against raw ipfs add + cat.
bench-io: setup
	$(BIN)/python bench/io.py

# Requests through the agent's ingress to an HTTP server in a job, against the same server direct.
bench-ingress: setup
	@command -v wrk >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null)
	$(BIN)/python bench/ingress.py

# The marketplace with 10,000 GPUs in headless Chromium: first render and the first page's bundle.
bench-web: setup-chain web chromium
	$(BIN)/python bench/web.py

bench-gateway: setup
	@command -v wrk >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null)
	$(BIN)/python bench/gateway.py

# The main job end to end on its own fresh stack (needs Kubo and podman, not PostgreSQL);
# `make demo CHAIN=geth` runs it on geth instead of Anvil (building geth first if needed).
CHAIN ?= anvil
demo: setup-chain .tools/bin/ipfs podman $(if $(filter geth,$(CHAIN)),.tools/bin/geth)
	$(BIN)/gpurent demo --chain $(CHAIN)

# The same stack kept running for interactive use (state and logs in $GPURENT_HOME or ~/.gpurent).
up: setup-chain .tools/bin/ipfs podman
	$(BIN)/gpurent up

down:
	$(BIN)/gpurent down

status:
	$(BIN)/gpurent status

clean:
	rm -rf .build contracts/.cache out cache crytic-export
