#!/usr/bin/env bash
# Takes the testbed down: every process it started (by its own pid), every
# container and network of its hosts, and its state folder. Idempotent.
source "$(dirname "$0")/lib.sh"

stop_pid() { # stop_pid PIDFILE NAME: TERM, wait, then KILL; children too
  local pf=$1 name=$2 pid kids
  pid_alive "$pf" || { rm -f "$pf"; return 0; }
  pid=$(cat "$pf")
  kids=$(pgrep -P "$pid" || true)
  say "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  # shellcheck disable=SC2086
  kill -KILL "$pid" $kids 2>/dev/null || true
  rm -f "$pf"
}

# The controller's persistent SSH connections to the test hosts.
pkill -f '/tmp/aegee-ansible-cp/' 2>/dev/null || true

# sshd of each host, and the sessions it forked.
for h in "${HOSTS[@]}"; do
  read -r name _ <<<"$h"
  pf=$RUN/sshd-$name.pid
  if pid_alive "$pf"; then
    master=$(cat "$pf")
    mapfile -t sessions < <(pgrep -P "$master" || true)
    stop_pid "$pf" "sshd of $name"
    [ ${#sessions[@]} -eq 0 ] || kill -KILL "${sessions[@]}" 2>/dev/null || true
  fi
done

if docker_up; then
  # Containers and networks of the test hosts' compose projects, and of the
  # tests' own throw-away projects (their names start with aegee-test-).
  projects=$(docker ps -a --format '{{.Label "com.docker.compose.project"}}' | sort -u \
    | grep -E '^(myaegee-|aegee-test-)' || true)
  for p in $projects; do
    mapfile -t ids < <(docker ps -aq --filter "label=com.docker.compose.project=$p")
    [ ${#ids[@]} -eq 0 ] || { say "removing containers of $p"; docker rm -f "${ids[@]}" >/dev/null; }
  done
  nets=$(docker network ls --format '{{.Name}}' | grep -E '^(myaegee-|aegee-test-)' || true)
  for n in $nets; do docker network rm "$n" >/dev/null 2>&1 || true; done
  if ! pid_alive "$RUN/dockerd.pid"; then
    # not our engine: take our images out of it, leave it running
    mapfile -t imgs < <(docker images --format '{{.Repository}}:{{.Tag}}' | grep "^$REGISTRY/aegee/" || true)
    [ ${#imgs[@]} -eq 0 ] || docker rmi -f "${imgs[@]}" >/dev/null 2>&1 || true
  fi
fi

stop_pid "$RUN/registry.pid" "the registry"
if pid_alive "$RUN/dockerd.pid"; then
  stop_pid "$RUN/dockerd.pid" "dockerd"
  # dockerd takes its containerd down with it; wait for the socket to go
  for _ in $(seq 1 40); do [ -S /var/run/docker.sock ] || break; docker_up || break; sleep 0.25; done
fi

if [ -d "$TESTBED_ROOT" ]; then
  # overlay mounts of a crashed engine would keep files busy
  grep -o " $TESTBED_ROOT/[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done || true
  rm -rf "$TESTBED_ROOT"
  say "removed $TESTBED_ROOT"
fi
say "down"
