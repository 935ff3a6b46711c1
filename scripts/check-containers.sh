#!/usr/bin/env bash
# Container checks that need no Docker engine (CI runs them from .ci/run):
#   1. docker-compose.yml against the Compose Spec and dclint's rules (warnings fail too)
#   2. both Dockerfiles with dockerfile-utils lint (syntax and instruction errors fail)
#   3. pnpm build, then scripts/check-containers.ts: every file the images copy, run or mount exists, and each
#      image's entry file starts from the image's own layout (see that file)
# Exits non-zero on the first failing step.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== docker-compose.yml (dclint: Compose Spec schema + rules)"
pnpm exec dclint --max-warnings 0 docker-compose.yml
echo "ok"

echo "== Dockerfiles (dockerfile-utils lint)"
for dockerfile in Dockerfile.orchestrator Dockerfile.runner examples/custom-runner/Dockerfile; do
  # Prints diagnostics; exits 1 on an error (warnings are printed but pass).
  pnpm exec dockerfile-utils lint "$dockerfile"
  echo "$dockerfile ok"
done

echo "== production build (pnpm build)"
pnpm build

echo "== image layouts, entry files, compose files"
node --import tsx scripts/check-containers.ts
