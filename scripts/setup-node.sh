#!/usr/bin/env bash
# setup-node.sh — install the npm packages the interop tests use (DuckDB's
# node API) into tests/node/node_modules, git-ignored. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/../tests/node"
if [ -d node_modules/@duckdb/node-api ] && [ node_modules -nt package.json ]; then
  exit 0
fi
npm install --no-audit --no-fund --loglevel=error >/dev/null
touch node_modules
