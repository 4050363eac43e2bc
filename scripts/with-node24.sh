#!/usr/bin/env bash
# Runs a command with Node 24 LTS first on PATH, installing it from the npm registry (the `node`
# package ships the binary) into a cache the first time. Used by .ci/run and for benches:
#   bash scripts/with-node24.sh npm run bench
set -euo pipefail
prefix="${TURNOUT_NODE24_PREFIX:-$HOME/.cache/turnout/node24}"
if ! "$prefix/bin/node" --version 2>/dev/null | grep -q '^v24\.'; then
  echo "installing Node 24 into $prefix" >&2
  log=$(mktemp)
  npm install -g --prefix "$prefix" --no-audit --no-fund node@24 >"$log" 2>&1 \
    || { cat "$log" >&2; echo "installing node@24 failed" >&2; exit 1; }
  rm -f "$log"
fi
export PATH="$prefix/bin:$PATH"
[ $# -gt 0 ] || { command -v node; exit 0; }
exec "$@"
