# One entry point for the demo, the testbed, the tests and the linters.
# Every target installs what it needs first (testbed/install.sh is a no-op
# when everything is there).
SHELL := /bin/bash
VENV ?= $(CURDIR)/.venv
export PATH := $(VENV)/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
SERVICE ?=
VERSION ?=
LATEST ?= yes
START_DELAY ?= 0
NEVER_HEALTHY ?=
# where the test sessions leave their rows of docs/reliability.md
export AEGEE_RELIABILITY_DIR := $(CURDIR)/build/reliability

.PHONY: help install testbed-up testbed-down testbed-publish testbed-check-clean \
        demo test unit integration molecule soak reliability lint galaxy-import sanity bench bench-browser downtime build clean

help:
	@echo "make demo          bring the testbed up, deploy staging, promote to production"
	@echo "make test          bring the testbed up, run lint + unit + integration tests, take it down"
	@echo "make testbed-up [HOSTS=10 (staging hosts, for make bench HOSTS=10)] | testbed-down | testbed-publish SERVICE=core VERSION=1.5.1 [LATEST=no]"
	@echo "                   [START_DELAY=5 (boots 5 s late)] [NEVER_HEALTHY=1] [BROKEN=health|page|api]"
	@echo "make bench-browser what the browser scenarios add to a release (testbed up)"
	@echo "make downtime      failed requests through staging's gateway during releases (testbed up)"
	@echo "make unit | integration | molecule | lint | galaxy-import | sanity | bench | build"
	@echo "make soak [CYCLES=40] [SEED=n]   deploy/rollback cycles with random faults (testbed up)"

install:
	@testbed/install.sh

testbed-up:
	@FLEET_HOSTS=$(HOSTS) testbed/up.sh

testbed-down:
	@testbed/down.sh

testbed-check-clean:
	@testbed/check-clean.sh

testbed-publish:
	@LATEST=$(LATEST) START_DELAY=$(START_DELAY) NEVER_HEALTHY=$(NEVER_HEALTHY) BROKEN=$(BROKEN) testbed/publish.sh "$(SERVICE)" "$(VERSION)"

# ends with the promotion's release summary and where the status page is (status.yml writes it quietly
# after the promotion; its table: ansible-playbook playbooks/status.yml)
demo: testbed-up
	ansible-playbook playbooks/deploy.yml -l staging
	ansible-playbook playbooks/deploy.yml -l production
	@ansible-playbook playbooks/status.yml > /tmp/aegee-demo-status.log 2>&1 || { cat /tmp/aegee-demo-status.log; exit 1; }
	@echo "The testbed keeps running; 'make testbed-down' stops it."
	@echo "Status page: $(CURDIR)/aegee-status.html"

# The whole suite: lint, Galaxy's import check, unit tests, then the testbed and everything that
# runs against it; the testbed is taken down (and checked clean) whatever
# happened.
test: install
	@rc=0; rm -rf "$(AEGEE_RELIABILITY_DIR)"; \
	$(MAKE) --no-print-directory lint || rc=1; \
	$(MAKE) --no-print-directory galaxy-import || rc=1; \
	$(MAKE) --no-print-directory unit || rc=1; \
	$(MAKE) --no-print-directory testbed-up && \
	  { $(MAKE) --no-print-directory integration || rc=1; \
	    $(MAKE) --no-print-directory molecule || rc=1; } || rc=1; \
	$(MAKE) --no-print-directory testbed-down || rc=1; \
	$(MAKE) --no-print-directory testbed-check-clean || rc=1; \
	$(MAKE) --no-print-directory reliability || rc=1; \
	exit $$rc

unit: install
	pytest -q tests/unit

integration: install
	AEGEE_REQUIRE_DOCKER=1 pytest -q tests/integration

# The molecule scenarios (deploy, promote, rollback, failure) against the
# testbed hosts, with their own deploy roots, projects and images; and
# `default` (molecule looks for one), the syntax check of every playbook.
molecule: install
	molecule test --all

# docs/reliability.md from the rows the last test sessions left (make test runs it)
reliability:
	python3 tests/reliability.py "$(AEGEE_RELIABILITY_DIR)" docs/reliability.md

# The soak: CYCLES deploy/rollback cycles with a random real fault in a fifth
# of them; the integration suite runs a short one (6 cycles).
soak: testbed-up
	AEGEE_REQUIRE_DOCKER=1 AEGEE_SOAK_CYCLES=$(or $(CYCLES),40) AEGEE_SOAK_SEED=$(SEED) \
	  pytest -q tests/integration/test_soak.py

lint: install
	tests/lint.sh

# Galaxy's import check (galaxy-importer, ansible-test off) on the built tarball
galaxy-import: install
	tests/galaxy_import.sh

sanity: install
	tests/sanity.sh

bench: testbed-up
	python benchmarks/deploy_speed.py $(or $(ROUNDS),3)

# What the browser scenarios (the deploy repo's three) add to a release of core
# on staging: medians with and without the gate (target: at most 10 s more).
bench-browser: testbed-up
	python benchmarks/browser_gate.py $(or $(ROUNDS),3)

# Requests through staging's gateway while releases run: failed requests,
# the longest gap between successes, release time (a benchmark, not a test).
downtime: testbed-up
	python benchmarks/downtime.py

build: install
	ansible-galaxy collection build --force --output-path build/

clean:
	rm -rf build .pytest_cache .ruff_cache
