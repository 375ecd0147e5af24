# The project's commands. `make help` lists them. Every target runs on Node.js 24: where the node on PATH is
# older, scripts/ensure-node.sh installs Node 24 from the npm registry into .cache/node and it goes first on PATH.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

NODE_BIN := $(shell scripts/ensure-node.sh)
ifneq ($(NODE_BIN),)
export PATH := $(NODE_BIN):$(PATH)
endif

# Local settings for `make up` (see .env.example); the defaults work without one.
ifneq (,$(wildcard .env))
include .env
export $(shell sed -n 's/^\([A-Z_][A-Z0-9_]*\)=.*/\1/p' .env)
endif

RESULTS := .run/test-results
API_URL := http://127.0.0.1:$(or $(HTTP_PORT),3000)
PROCESSES := $(shell scripts/procs.sh names)

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z%_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-22s %s\n", $$1, $$2}'

.PHONY: node-check
node-check:
	@node -e 'const m = +process.versions.node.split(".")[0]; if (m !== 24) { console.error("Node 24 is required, found " + process.version); process.exit(1) }'

node_modules/.package-lock.json: package-lock.json | node-check
	npm ci --no-audit --no-fund

.PHONY: install
install: node_modules/.package-lock.json kafka-fetch ## Install dependencies (npm ci) and the Kafka jars

.PHONY: kafka-fetch
kafka-fetch: ## Fetch Apache Kafka from Maven Central into .cache/kafka (once)
	@scripts/kafka.sh fetch

.PHONY: build
build: node_modules/.package-lock.json ## Compile every workspace (tsc project references)
	npm run build

.PHONY: lint
lint: node_modules/.package-lock.json licenses ## Type-check, lint (zero warnings), formatting, architecture rules, the compose file's schema, licenses
	npm run lint

.PHONY: licenses
licenses: node_modules/.package-lock.json ## Offline: production licenses against .license-allowlist.json, every version pinned
	node scripts/check-pinned.js
	node scripts/check-licenses.js

.PHONY: audit
audit: ## npm audit of production dependencies (high and up); says plainly when the advisory service cannot be asked
	@scripts/audit.sh

.PHONY: format
format: node_modules/.package-lock.json ## Rewrite files with prettier
	npm run format

.PHONY: test
test: build lint test-covered test-browser test-faults-bounded test-cluster-bounded ## Build, lint, unit + integration with coverage, browser, bounded faults, bounded cluster

.PHONY: test-covered
test-covered: node_modules/.package-lock.json ## Unit + integration in one run with line and branch coverage and floors (.run/coverage)
	@mkdir -p $(RESULTS)
	@status=0; npx jest --selectProjects unit integration --coverage --json --outputFile=$(RESULTS)/unit-integration.json || status=$$?; \
	  node scripts/coverage-by-workspace.js .run/coverage; exit $$status

.PHONY: test-unit
test-unit: node_modules/.package-lock.json ## Run the unit tests
	@mkdir -p $(RESULTS)
	npx jest --selectProjects unit --json --outputFile=$(RESULTS)/unit.json

.PHONY: test-integration
test-integration: node_modules/.package-lock.json ## Run the integration tests (real PostgreSQL and Kafka)
	@mkdir -p $(RESULTS)
	npx jest --selectProjects integration --json --outputFile=$(RESULTS)/integration.json

.PHONY: test-browser
test-browser: node_modules/.package-lock.json ## Browser tests of the operator console (headless Chromium, the whole saga)
	@scripts/ensure-chromium.sh
	@mkdir -p $(RESULTS)
	npx jest --selectProjects browser --json --outputFile=$(RESULTS)/browser.json

.PHONY: test-faults-bounded
test-faults-bounded: node_modules/.package-lock.json ## The fault-injection suite, bounded (about three minutes)
	@mkdir -p $(RESULTS)
	FAULT_PROFILE=bounded npx jest --selectProjects faults --json --outputFile=$(RESULTS)/faults.json

.PHONY: test-faults
test-faults: build ## The long fault-injection run (about 15 minutes); replay one with FAULT_SEED=<seed> make test-faults
	FAULT_PROFILE=full npx jest --selectProjects faults

.PHONY: test-cluster-bounded
test-cluster-bounded: node_modules/.package-lock.json ## The replicated profile on a three-broker cluster of its own (brokers and relays on test hosts), under a bounded cluster fault run with kills and partitions; and the publisher when a partition's leader moved (about five minutes)
	@mkdir -p $(RESULTS)
	CLUSTER_PROFILE=bounded npx jest --selectProjects cluster --runInBand --runTestsByPath test/cluster/replicated-under-faults.test.ts test/cluster/publisher-partition-moved.test.ts --json --outputFile=$(RESULTS)/cluster.json

.PHONY: test-cluster
test-cluster: build ## The cluster suite in full: set-up and broker loss, then the fault run over 10,000 cards (about 15 minutes); FAULT_SEED=<seed> replays its load
	CLUSTER_PROFILE=full npx jest --selectProjects cluster --runInBand

.PHONY: test-file
test-file: node_modules/.package-lock.json ## Run one test file: make test-file FILE=path/to/file.test.ts
	npx jest $(FILE)

.PHONY: up
up: install build kafka-up setup ## Start the whole system in the background (logs and pids in .run/)
	@for process in $(PROCESSES); do scripts/procs.sh start $$process; done
	@scripts/wait-http.sh $(API_URL)/readyz 60
	@scripts/procs.sh check
	@echo
	@echo "  API         $(API_URL)"
	@echo "  Readiness   $(API_URL)/readyz"
	@echo "  Swagger UI  $(API_URL)/docs"
	@echo "  Console     $(API_URL)/admin/  (sign in with: make -s token)"
	@echo "  OpenAPI     $(API_URL)/openapi.json"
	@echo "  Provider    http://127.0.0.1:$(or $(MOCK_PROVIDER_PORT),3200)  (fault control: /control/faults)"
	@echo "  Logs        .run/logs/   (make logs)"
	@echo "  Stop        make down"

.PHONY: down
down: ## Stop everything `make up` started
	@for process in $$(echo $(PROCESSES) | tr ' ' '\n' | tac); do scripts/procs.sh stop $$process; done
	@scripts/kafka.sh stop

# The replicated profile: its own run dir (pids, logs), database and ports (scripts/procs.sh), over the cluster.
CLUSTER_ENV = PROCS_PROFILE=cluster PROCS_RUN_DIR=$(CURDIR)/.run/cluster \
  DATABASE_URL=postgres://postgres@127.0.0.1:5432/cards_cluster PROVIDER_URL=http://127.0.0.1:3600 \
  KAFKA_BROKERS=$$(scripts/kafka-cluster.sh brokers) KAFKA_TOPIC_REPLICATION_FACTOR=3 KAFKA_TOPIC_MIN_INSYNC_REPLICAS=2

.PHONY: up-cluster
up-cluster: install build ## The replicated profile: 3 Kafka brokers, 2 card-apis, 2 relays, 2 consumers, 3 workers
	@scripts/kafka-cluster.sh start
	@$(CLUSTER_ENV) node services/card-api/dist/main-setup.js
	@for process in $$($(CLUSTER_ENV) scripts/procs.sh names); do $(CLUSTER_ENV) scripts/procs.sh start $$process; done
	@scripts/wait-http.sh http://127.0.0.1:3400/readyz 60
	@scripts/wait-http.sh http://127.0.0.1:3410/readyz 60
	@$(CLUSTER_ENV) scripts/procs.sh check
	@echo
	@echo "  APIs        http://127.0.0.1:3400  http://127.0.0.1:3410  (spread clients over both)"
	@echo "  Console     http://127.0.0.1:3400/admin/"
	@echo "  Kafka       $$(scripts/kafka-cluster.sh brokers)  (replication 3, min.insync.replicas 2)"
	@echo "  Provider    http://127.0.0.1:3600"
	@echo "  Operators   make ops-cluster ARGS='outbox status'"
	@echo "  Logs        .run/cluster/logs/ and .run/logs/kafka-91-*.log"
	@echo "  Stop        make down-cluster"

.PHONY: down-cluster
down-cluster: ## Stop everything `make up-cluster` started
	@for process in $$($(CLUSTER_ENV) scripts/procs.sh names | tr ' ' '\n' | tac); do $(CLUSTER_ENV) scripts/procs.sh stop $$process; done
	@scripts/kafka-cluster.sh stop

.PHONY: ops-cluster
ops-cluster: ## Operator commands against the replicated profile: make ops-cluster ARGS='consumers lag'
	@$(CLUSTER_ENV) node services/card-api/bin/cards-ops.js $(ARGS)

.PHONY: status
status: ## Show which processes run
	@scripts/procs.sh status
	@if scripts/kafka.sh status; then echo "kafka: answering"; else echo "kafka: not answering"; fi

.PHONY: logs
logs: ## Follow every process's log
	tail -n 20 -F .run/logs/*.log

restart-%: build ## Restart one process: make restart-card-api
	@scripts/procs.sh restart $*

stop-%: ## Stop one process: make stop-provider-worker
	@scripts/procs.sh stop $*

.PHONY: kafka-up
kafka-up: kafka-fetch ## Start the local Kafka broker unless one answers already
	@scripts/kafka.sh start

.PHONY: kafka-down
kafka-down: ## Stop the local Kafka broker started by kafka-up
	@scripts/kafka.sh stop

.PHONY: setup
setup: build ## Create the database if missing, migrate it, create the Kafka topics
	node services/card-api/dist/main-setup.js

.PHONY: openapi
openapi: build ## Regenerate packages/contracts/openapi.json from the zod schemas
	node scripts/write-openapi.js

.PHONY: client
client: openapi ## Regenerate packages/client's types from the OpenAPI document (after any API change)
	npm run generate -w @cards/client

.PHONY: token
token: ## Mint a development token (after make up/build): make -s token SUB=<externalId>, default the admin
	@node services/card-api/dist/main-mint-token.js $(SUB)

.PHONY: ops
ops: ## Operator commands (after make up/build): make ops ARGS='dlq list cards.provisioning.results.v1'
	@node services/card-api/bin/cards-ops.js $(ARGS)

.PHONY: clean
clean: down ## Stop everything and delete build output, logs and local Kafka data
	rm -rf .run packages/*/dist services/*/dist

.PHONY: bench
bench: build kafka-up ## Benchmark every scenario against same-run baselines (~25 min, bounded at ~30); writes bench/results/ and docs/benchmarks.md
	node bench/run.ts $(ARGS)

.PHONY: bench-quick
bench-quick: build kafka-up ## The benchmark's quick mode for CI (tiny bounded versions of every scenario, ~2 min); results in .run/bench/
	node bench/run.ts --quick $(ARGS)
