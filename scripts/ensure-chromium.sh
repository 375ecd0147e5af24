#!/usr/bin/env bash
# Makes sure a Chromium for the browser tests (make test-browser) is installed: Debian's `chromium` package at
# /usr/bin/chromium (CHROMIUM_PATH overrides the path). Installs it with apt-get when missing; CI runs as root and
# has no sudo. Prints the version it found.
set -euo pipefail

CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"

if [[ ! -x "$CHROMIUM_PATH" ]]; then
  if [[ "$CHROMIUM_PATH" != /usr/bin/chromium ]]; then
    echo "ensure-chromium: CHROMIUM_PATH=$CHROMIUM_PATH is not an executable file" >&2
    exit 1
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-chromium: $CHROMIUM_PATH is missing and apt-get is not available; install Chromium yourself" >&2
    exit 1
  fi
  if [[ "$(id -u)" -ne 0 ]]; then
    echo "ensure-chromium: $CHROMIUM_PATH is missing; run as root (or: apt-get install chromium)" >&2
    exit 1
  fi
  echo "ensure-chromium: installing Debian's chromium package" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium >&2
fi

# Debian's wrapper script may print shell noise on stderr; the version line is on stdout.
"$CHROMIUM_PATH" --version 2>/dev/null
