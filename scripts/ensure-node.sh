#!/usr/bin/env bash
# Prints a directory to put first on PATH so that `node` is Node.js 24.
# Where the node on PATH is already 24 it prints nothing; otherwise it installs Node 24 from the npm registry
# (the `node` package carries the binary) into .cache/node, once, and prints its bin directory.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WANTED_MAJOR="$(tr -dc '0-9' <"$ROOT/.nvmrc")"
PREFIX="$ROOT/.cache/node"
BIN="$PREFIX/node_modules/.bin"

current_major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
if [[ "$current_major" == "$WANTED_MAJOR" ]]; then
  exit 0
fi

if [[ ! -x "$BIN/node" ]] || [[ "$("$BIN/node" -p 'process.versions.node.split(".")[0]')" != "$WANTED_MAJOR" ]]; then
  command -v npm >/dev/null || { echo "ensure-node: npm is needed to install Node $WANTED_MAJOR" >&2; exit 1; }
  echo "ensure-node: node on PATH is ${current_major:-absent}; installing Node $WANTED_MAJOR into .cache/node" >&2
  mkdir -p "$PREFIX"
  npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$PREFIX" "node@$WANTED_MAJOR" >&2
fi
echo "$BIN"
