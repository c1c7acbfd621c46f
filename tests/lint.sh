#!/usr/bin/env bash
# Every linter the project holds itself to, in one command; fails if any fails.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
rc=0
step() { echo "== $*"; "$@" || { echo "!! failed: $*"; rc=1; }; }
step ruff check plugins tests benchmarks molecule
step yamllint -s .
step ansible-lint --offline -q
step tests/sanity.sh
exit $rc
