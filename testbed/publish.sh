#!/usr/bin/env bash
# Builds and pushes one version of a test service the way CI would:
#   testbed/publish.sh SERVICE VERSION        # pushes VERSION and latest
#   LATEST=no testbed/publish.sh core 1.6.0   # pushes VERSION only
#   BROKEN=health testbed/publish.sh events 1.6.0  # no /healthcheck: container goes unhealthy
#   BROKEN=page testbed/publish.sh frontend 1.6.0  # healthy, but the page's script fails
#   BROKEN=api testbed/publish.sh core 1.6.0       # healthy (/healthcheck green), but its API fails
#   START_DELAY=5 testbed/publish.sh core 1.6.0    # boots 5 s late: unhealthy (nothing answers) until then
#   NEVER_HEALTHY=1 testbed/publish.sh core 1.6.0  # serves its page, never turns healthy (BROKEN=health)
source "$(dirname "$0")/lib.sh"

service=${1:-}; version=${2:-}
if [ -z "$service" ] || [ -z "$version" ]; then
  die "usage: publish.sh SERVICE VERSION (LATEST=no, BROKEN=health|page|api optional)"
fi
[[ "$service" =~ ^[a-z][a-z0-9-]{0,40}$ ]] || die "service '$service' is not a plain lowercase name"
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] || die "version '$version' is not a semantic version"
latest=${LATEST:-yes}
broken=${BROKEN:-}
start_delay=${START_DELAY:-0}
[[ "$start_delay" =~ ^[0-9]{1,3}$ ]] || die "START_DELAY '$start_delay' is not a number of seconds"
case "$broken" in
  "" | health | page | api) ;;
  *) die "BROKEN '$broken' is not one of health, page, api" ;;
esac
case "${NEVER_HEALTHY:-}" in
  "" | 0 | no) ;;
  *) broken=health ;;
esac
docker_up || die "the Docker engine is not running: make testbed-up first"
[ -s "$TESTBED_ROOT/registry/password" ] || die "the testbed registry is not set up: make testbed-up first"

ctx=$(mktemp -d "$TESTBED_ROOT/build.XXXXXX")
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/rootfs/bin" "$ctx/rootfs/usr/bin" "$ctx/rootfs/tmp" "$ctx/www"
cp /bin/busybox "$ctx/rootfs/bin/busybox"
ln -s busybox "$ctx/rootfs/bin/sh"
install -m 0755 "$TESTBED_SRC/image/curl" "$ctx/rootfs/usr/bin/curl"
install -m 0755 "$TESTBED_SRC/image/serve" "$ctx/rootfs/usr/bin/serve"
cp "$TESTBED_SRC/image/Dockerfile" "$ctx/Dockerfile"
# every file gets the same mtime so the rootfs layer is identical across builds
find "$ctx/rootfs" -exec touch -h -d '2020-01-01 00:00:00' {} +

if [ "$broken" != "health" ]; then
  printf '{"success": true, "data": {"name": "%s", "version": "%s", "environment": "testbed"}}\n' \
    "$service" "$version" >"$ctx/www/healthcheck"
fi
if [ "$broken" = "page" ]; then
  script="document.getElementById('app').textContent = missingFunction();"
  title="missingFunction()"
else
  script="document.getElementById('app').textContent = 'AEGEE $service $version';"
  title="'AEGEE frontend ' + VERSION"
fi
app=$TESTBED_SRC/image/app
if [ "$service" = frontend ]; then
  # the single-page app: it shows what core and events answer through the gateway, and logs in at core
  sed "s/@VERSION@/$version/" "$app/index.html" >"$ctx/www/index.html"
  sed -e "s/@VERSION@/$version/" -e "s/@TITLE@/$title/" "$app/app.js" >"$ctx/www/app.js"
else
  cat >"$ctx/www/index.html" <<HTML
<!doctype html>
<html><head><meta charset="utf-8"><title>AEGEE $service</title></head>
<body><h1 id="app">loading…</h1><p id="version">$version</p>
<script>$script</script></body></html>
HTML
fi
# the APIs the app calls: core's bodies and login (the test account), events' list and registration
mkdir -p "$ctx/www/cgi-bin"
case "$service:$broken" in
  core:api | events:api)
    install -m 0755 "$app/broken-api.cgi" "$ctx/www/cgi-bin/$([ "$service" = core ] && echo login || echo register)" ;;
  core:*)
    printf '{"success": true, "data": [{"name": "AEGEE-Europe"}, {"name": "AEGEE-Leiden"}]}\n' >"$ctx/www/bodies.json"
    sed -e "s/@USERNAME@/$BROWSER_USER/" -e "s/@PASSWORD_SHA256@/$(browser_password | sha256sum | cut -d' ' -f1)/" \
      "$app/login.cgi" >"$ctx/www/cgi-bin/login"
    chmod 0755 "$ctx/www/cgi-bin/login" ;;
  events:*)
    printf '{"success": true, "data": [{"name": "Summer University %s"}, {"name": "Agora"}]}\n' "$version" \
      >"$ctx/www/events.json"
    install -m 0755 "$app/register.cgi" "$ctx/www/cgi-bin/register" ;;
esac

ref=$REGISTRY/aegee/$service
export DOCKER_CONFIG=$TESTBED_ROOT/ci-docker
docker build -q --build-arg SERVICE="$service" --build-arg VERSION="$version" \
  --build-arg START_DELAY="$start_delay" -t "$ref:$version" "$ctx" >/dev/null \
  2> >(grep -v -e DEPRECATED -e 'legacy builder' -e BuildKit -e 'environment-variable' -e '^ *$' >&2)
docker push -q "$ref:$version" >/dev/null
if [ "$latest" = "yes" ]; then
  docker tag "$ref:$version" "$ref:latest"
  docker push -q "$ref:latest" >/dev/null
fi
say "published $ref:$version${broken:+ (broken: $broken)}$([ "$start_delay" = 0 ] || echo " (boots in ${start_delay}s)")$([ "$latest" = yes ] && echo " and latest")"
