#!/bin/sh
# Runs docker compose over the base file and every enabled service's file:
#   ./helper.sh up -d        ./helper.sh ps        ./helper.sh config
set -eu
cd "$(dirname "$0")"
set -a
. ./.env
set +a
files="-f base-docker-compose.yml"
for s in $(echo "$ENABLED_SERVICES" | tr ':' ' '); do
    files="$files -f $s/docker/docker-compose.yml"
done
if [ "${1:-}" = "up" ] && ! docker network inspect "$NETWORK_NAME" >/dev/null 2>&1; then
    docker network create "$NETWORK_NAME" >/dev/null
fi
# shellcheck disable=SC2086
exec docker compose $files "$@"
