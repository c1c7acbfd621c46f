#!/usr/bin/env bash
# Fails if anything of the testbed is left: a process, a container, a network,
# a listening port or its state folder. Run after testbed-down.
source "$(dirname "$0")/lib.sh"
left=()
pgrep -f "$TESTBED_ROOT/" >/dev/null && left+=("processes: $(pgrep -af "$TESTBED_ROOT/" | tr '\n' ';')")
pgrep -x docker-registry >/dev/null && left+=("a docker-registry process")
pgrep -f '/tmp/aegee-ansible-cp/' >/dev/null && left+=("controller SSH masters")
for h in "${HOSTS[@]}"; do
  read -r name addr _ <<<"$h"
  ss -Htln "src $addr" | grep -q . && left+=("a listening port on $addr ($name)")
done
ss -Htln "src 127.0.0.1:5000" | grep -q . && left+=("the registry port 5000")
if docker info >/dev/null 2>&1; then
  docker ps -a --format '{{.Names}} {{.Label "com.docker.compose.project"}}' | grep -E ' (myaegee-|aegee-test-)' \
    && left+=("containers of the testbed")
  docker network ls --format '{{.Name}}' | grep -E '^(myaegee-|aegee-test-)' && left+=("networks of the testbed")
fi
[ -e "$TESTBED_ROOT" ] && left+=("the state folder $TESTBED_ROOT")
if [ ${#left[@]} -gt 0 ]; then
  printf '[testbed] left behind: %s\n' "${left[@]}" >&2
  exit 1
fi
say "clean: no process, container, network, port or state of the testbed is left"
