#!/usr/bin/env bash
# Galaxy's own import check (galaxy-importer) on the collection as it is
# published: build the tarball, import it, fail on any error the importer
# reports (a role without README.md, bad galaxy.yml, ansible-doc or
# ansible-lint failures). ansible-test is off (it needs a container image);
# nothing here needs the network.
set -euo pipefail
cd "$(dirname "$0")/.." || exit 1
repo=$PWD
work=$(mktemp -d "${TMPDIR:-/tmp}/aegee-galaxy-import.XXXXXX")
trap 'rm -rf "$work"' EXIT
ansible-galaxy collection build --force --output-path "$work" >/dev/null
tarballs=("$work"/*.tar.gz)
[ ${#tarballs[@]} -eq 1 ] || { echo "expected one tarball in $work, got: ${tarballs[*]}" >&2; exit 1; }
# the importer writes importer_result.json into the current directory
cd "$work"
rc=0
GALAXY_IMPORTER_CONFIG=$repo/tests/galaxy/importer.cfg \
  python -m galaxy_importer.main "${tarballs[0]}" >"$work/importer.log" 2>&1 || rc=$?
grep -v '^Loading ' "$work/importer.log" || true
if [ "$rc" -ne 0 ] || grep -q '^ERROR' "$work/importer.log"; then
  echo "!! galaxy-importer rejected $(basename "${tarballs[0]}") (exit $rc)" >&2
  exit 1
fi
echo "galaxy-importer accepted $(basename "${tarballs[0]}")"
