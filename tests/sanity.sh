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
# ansible-test bootstraps pip in its venvs with a script it downloads from a
# host we cannot reach: give it an offline stand-in (see get_pip_offline.py).
pip_version=$(python - <<'PY'
import re, ansible_test._internal.python_requirements as m
src = open(m.__file__).read()
print(re.search(r"pip='([0-9.]+)'", src).group(1))
PY
)
cache=~/.ansible/test/cache/get_pip_${pip_version//./_}.py
if ! cmp -s tests/sanity/get_pip_offline.py "$cache"; then
  mkdir -p "$(dirname "$cache")"
  cp tests/sanity/get_pip_offline.py "$cache"
fi
cd "$dest"
ansible-test sanity --color no --python "$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')" \
  --requirements "$@"
