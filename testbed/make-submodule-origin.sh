#!/usr/bin/env bash
# Builds the deploy repo's origin in its submodule shape (the real repo's `stable` branch) from
# testbed/deploy-repo/:
#   DEST/services/<folder>.git  one bare repository per application service folder (every folder with a
#                               docker/ folder but the gateway's: `gateways` is the deploy repo's own, as in
#                               the real repo), carrying that docker/ folder, on branch master
#   DEST/myaegee.git            the bare deploy repo, branch stable: the top-level files, and each service
#                               folder a git submodule pointing at its repository
# Usage: testbed/make-submodule-origin.sh DEST [URL_BASE]
#   URL_BASE is how the deploy repo's .gitmodules reaches the service repositories: URL_BASE/<folder>.git
#   (default: DEST/services, a path on disk; file:///… or an SSH URL work the same). A relative URL_BASE
#   (../services) is relative to the deploy repo's origin, as git resolves it.
# Git refuses submodules on disk unless protocol.file.allow=always (git >= 2.38.1, CVE-2022-39253): this
# script allows it for its own commands; whoever clones the result from disk needs it too.
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/deploy-repo
DEST=${1:?usage: $0 DEST [URL_BASE]}
if [ -e "$DEST" ] && [ -n "$(ls -A "$DEST")" ]; then
  echo "$DEST exists and is not empty: choose another folder or remove it" >&2
  exit 1
fi
mkdir -p "$DEST/services"
DEST=$(cd "$DEST" && pwd)
URL_BASE=${2:-$DEST/services}
git_() { git -c user.name="Testbed" -c user.email="testbed@localhost" -c commit.gpgsign=false \
  -c protocol.file.allow=always -c init.defaultBranch=master "$@"; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
folders=()
for dir in "$SRC"/*/; do
  folder=$(basename "$dir")
  [ -d "$dir/docker" ] || continue
  [ "$folder" != gateways ] || continue
  folders+=("$folder")
  git_ init -q -b master "$work/$folder"
  cp -a "$dir/." "$work/$folder/"
  git_ -C "$work/$folder" add -A
  git_ -C "$work/$folder" commit -q -m "$folder: docker folder"
  git_ init -q --bare -b master "$DEST/services/$folder.git"
  git_ -C "$work/$folder" push -q "$DEST/services/$folder.git" master
done

deploy=$work/deploy
git_ init -q -b stable "$deploy"
git_ -C "$deploy" remote add origin "$DEST/myaegee.git"  # what a relative URL_BASE is relative to
for item in "$SRC"/* "$SRC"/.[!.]*; do
  [ -e "$item" ] || continue
  name=$(basename "$item")
  [[ " ${folders[*]} " == *" $name "* ]] || cp -a "$item" "$deploy/"
done
for folder in "${folders[@]}"; do
  git_ -C "$deploy" submodule add -q -b master "$URL_BASE/$folder.git" "$folder" >/dev/null
done
git_ -C "$deploy" add -A
git_ -C "$deploy" commit -q -m "Deploy repo in the submodule shape"
git_ init -q --bare -b stable "$DEST/myaegee.git"
git_ -C "$deploy" push -q origin stable
echo "$DEST/myaegee.git (branch stable), service repositories: ${folders[*]} in $DEST/services"
