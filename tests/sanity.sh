#!/usr/bin/env bash
# ansible-test sanity needs the collection at ansible_collections/aegee/deploy:
# copy the files git knows (tracked and new, not ignored) into a temporary tree.
set -euo pipefail
cd "$(dirname "$0")/.."
tree=$(mktemp -d "${TMPDIR:-/tmp}/aegee-sanity.XXXXXX")
trap 'rm -rf "$tree"' EXIT
dest=$tree/ansible_collections/aegee/deploy
mkdir -p "$dest"
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
  [ -e "$f" ] && printf '%s\0' "$f"
done | tar --null -T - -cf - | tar -xf - -C "$dest"
git -C "$dest" init -q && git -C "$dest" add -A >/dev/null
cd "$dest"
ansible-test sanity --color no --python "$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')" \
  --requirements --exclude testbed/ --exclude molecule/ "$@"
