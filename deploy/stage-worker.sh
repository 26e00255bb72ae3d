#!/usr/bin/env bash
# Gathers what the worker image holds into a build context: the built tree (npm run build first),
# package.json and the production dependencies only (dev ones pruned offline, from the lock file).
#   deploy/stage-worker.sh DIR
# then: docker build -f deploy/worker.Dockerfile --build-arg BASE_IMAGE=caisson-base:host -t caisson-worker DIR
set -euo pipefail

stage=${1:?usage: deploy/stage-worker.sh DIR}
repo=$(cd "$(dirname "$0")/.." && pwd)
[[ -f "$repo/build/cli/main.js" && -f "$repo/build/workflow-bundle.js" ]] || {
  echo "no build: run npm run build first" >&2
  exit 1
}
mkdir -p "$stage"
rm -rf "${stage:?}/build" "$stage/node_modules"
cp -R "$repo/build" "$stage/build"
rm -rf "$stage/build/test" "$stage/build/bench"
cp "$repo/package.json" "$repo/package-lock.json" "$stage/"
# node_modules may be a link to a shared install: copied with links resolved, then pruned here.
cp -RL "$repo/node_modules" "$stage/node_modules"
# The published package is the client's: what only the worker runs is listed among the development
# dependencies. Here they count as the image's own, so the prune keeps them.
node -e '
  const fs = require("node:fs");
  const file = process.argv[1];
  const pkg = JSON.parse(fs.readFileSync(file, "utf8"));
  for (const name of ["@temporalio/worker", "@temporalio/activity", "dockerode", "tar-stream", "@aws-sdk/lib-storage"]) {
    pkg.dependencies[name] = pkg.devDependencies[name];
    delete pkg.devDependencies[name];
  }
  fs.writeFileSync(file, JSON.stringify(pkg, null, 2));
' "$stage/package.json"
(cd "$stage" && npm prune --omit=dev --offline --no-audit --no-fund --ignore-scripts >/dev/null)
echo "staged in $stage ($(du -sh "$stage" | cut -f1))"
