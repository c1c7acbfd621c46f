#!/usr/bin/env bash
# Molecule's own images and deploy repo origin on the running testbed
# (make testbed-up), created once and reset on every prepare:
#   localhost:5000/aegee-mol/<service>:1.4.2, 1.5.0, 1.5.1, latest -> 1.5.0
#   localhost:5000/aegee-mol/events:1.6.0, broken: no /healthcheck, so the
#     container goes unhealthy (the failure scenario deploys it)
#   /var/lib/aegee-testbed/molecule/git/myaegee.git, branch stable: the
#     testbed's deploy repo with image lines naming aegee-mol/<service>
# The images are built like testbed/publish.sh builds them (busybox rootfs,
# testbed/image/Dockerfile), but under molecule's own repository names: other
# tests publish to and retag aegee/<service>:latest while molecule runs, and
# a scenario must not resolve `latest` to whatever they pushed last.
# Arguments SERVICE=VERSION point that service's latest elsewhere (the
# promote scenario moves core's latest past what staging verified):
#   images.sh core=1.5.1
# Prints one line per thing it created or reset (nothing when all was there).
set -euo pipefail
TESTBED_ROOT=${TESTBED_ROOT:-/var/lib/aegee-testbed}
REPO_ROOT=$(cd "$(dirname "$0")/../.." && pwd)
REGISTRY=localhost:5000
API=http://127.0.0.1:5000/v2
NS=aegee-mol
SERVICES=(core events mailer frontend)
VERSIONS=(1.4.2 1.5.0 1.5.1)
LATEST=1.5.0
MANIFEST=application/vnd.docker.distribution.manifest.v2+json
MOL=$TESTBED_ROOT/molecule

[ -s "$TESTBED_ROOT/registry/password" ] || { echo "the testbed is not up: make testbed-up" >&2; exit 1; }
password=$(cat "$TESTBED_ROOT/registry/password")
auth=(-u "deployer:$password")
export DOCKER_CONFIG=$MOL/docker-config
mkdir -p "$DOCKER_CONFIG"
chmod 0700 "$MOL" "$DOCKER_CONFIG"

digest_of() { # digest_of SERVICE TAG: the manifest digest, empty when absent
  curl -fsSI "${auth[@]}" -H "Accept: $MANIFEST" "$API/$NS/$1/manifests/$2" 2>/dev/null \
    | tr -d '\r' | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: //p'
}

logged_in=no
build() { # build SERVICE VERSION [health]: build and push SERVICE:VERSION
  local service=$1 version=$2 broken=${3:-} ctx ref
  if [ "$logged_in" = no ]; then
    docker login -u deployer --password-stdin "$REGISTRY" <<<"$password" >/dev/null 2>&1
    logged_in=yes
  fi
  ctx=$(mktemp -d "$MOL/build.XXXXXX")
  mkdir -p "$ctx/rootfs/bin" "$ctx/rootfs/usr/bin" "$ctx/rootfs/tmp" "$ctx/www"
  cp /bin/busybox "$ctx/rootfs/bin/busybox"
  ln -s busybox "$ctx/rootfs/bin/sh"
  install -m 0755 "$REPO_ROOT/testbed/image/curl" "$ctx/rootfs/usr/bin/curl"
  install -m 0755 "$REPO_ROOT/testbed/image/serve" "$ctx/rootfs/usr/bin/serve"
  cp "$REPO_ROOT/testbed/image/Dockerfile" "$ctx/Dockerfile"
  find "$ctx/rootfs" -exec touch -h -d '2020-01-01 00:00:00' {} +
  if [ "$broken" != health ]; then
    printf '{"success": true, "data": {"name": "%s", "version": "%s", "environment": "molecule"}}\n' \
      "$service" "$version" >"$ctx/www/healthcheck"
  fi
  printf '<!doctype html><title>AEGEE %s</title><h1 id="app">AEGEE %s %s</h1>\n' \
    "$service" "$service" "$version" >"$ctx/www/index.html"
  ref=$REGISTRY/$NS/$service:$version
  DOCKER_BUILDKIT=0 docker build -q --build-arg SERVICE="$service" --build-arg VERSION="$version" \
    -t "$ref" "$ctx" >/dev/null 2>&1
  docker push -q "$ref" >/dev/null
  rm -rf "$ctx"
  echo "published $ref${broken:+ (broken: $broken)}"
}

for service in "${SERVICES[@]}"; do
  for version in "${VERSIONS[@]}"; do
    [ -n "$(digest_of "$service" "$version")" ] || build "$service" "$version"
  done
  # latest -> LATEST (or the version an argument names), through the
  # registry API (no pull needed)
  latest=$LATEST
  for arg in "$@"; do
    [ "${arg%%=*}" != "$service" ] || latest=${arg#*=}
  done
  want=$(digest_of "$service" "$latest")
  [ -n "$want" ] || { echo "$REGISTRY/$NS/$service:$latest does not exist" >&2; exit 1; }
  if [ "$(digest_of "$service" latest)" != "$want" ]; then
    curl -fsS "${auth[@]}" -H "Accept: $MANIFEST" "$API/$NS/$service/manifests/$latest" \
      | curl -fsS "${auth[@]}" -X PUT -H "Content-Type: $MANIFEST" --data-binary @- \
          "$API/$NS/$service/manifests/latest" >/dev/null
    echo "pointed $REGISTRY/$NS/$service:latest at $latest"
  fi
done
[ -n "$(digest_of events 1.6.0)" ] || build events 1.6.0 health

origin=$MOL/git/myaegee.git
if [ ! -d "$origin" ]; then
  work=$(mktemp -d "$MOL/origin.XXXXXX")
  git clone -q --branch stable "$TESTBED_ROOT/git/myaegee.git" "$work"
  # the gateway's image (Traefik) is a third-party pin: it stays where it is
  find "$work" \( -path "$work/.git" -o -path "$work/gateways" \) -prune -o -name '*.yml' -print0 \
    | xargs -0 sed -i "s#$REGISTRY/aegee/#$REGISTRY/$NS/#"
  git -C "$work" -c user.name=molecule -c user.email=molecule@localhost \
    commit -qam "molecule: images from $REGISTRY/$NS"
  mkdir -p "$(dirname "$origin")"
  git init -q --bare "$origin.tmp"
  git -C "$work" push -q "$origin.tmp" stable
  git -C "$origin.tmp" symbolic-ref HEAD refs/heads/stable
  mv "$origin.tmp" "$origin"
  rm -rf "$work"
  echo "created the deploy repo origin $origin (branch stable)"
fi
