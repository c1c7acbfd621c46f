#!/usr/bin/env bash
# Points a test service's `latest` at one of its published versions:
#   testbed/retag.sh core 1.5.0
source "$(dirname "$0")/lib.sh"
service=${1:-}; version=${2:-}
if [ -z "$service" ] || [ -z "$version" ]; then die "usage: retag.sh SERVICE VERSION"; fi
[[ "$service" =~ ^[a-z][a-z0-9-]{0,40}$ ]] || die "service '$service' is not a plain lowercase name"
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] || die "version '$version' is not a semantic version"
export DOCKER_CONFIG=$TESTBED_ROOT/ci-docker
ref=$REGISTRY/aegee/$service
docker pull -q "$ref:$version" >/dev/null
docker tag "$ref:$version" "$ref:latest"
docker push -q "$ref:latest" >/dev/null
say "$ref:latest now points at $version"
