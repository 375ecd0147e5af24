#!/usr/bin/env bash
# Waits until URL answers 2xx, for at most SECONDS (default 30); prints the last answer on failure.
set -euo pipefail
url="${1:?url}"
deadline=$((SECONDS + ${2:-30}))
until curl -fsS -o /dev/null "$url" 2>/dev/null; do
  if ((SECONDS >= deadline)); then
    echo "wait-http: $url did not become ready; it answers:" >&2
    curl -sS "$url" >&2 || true
    echo >&2
    exit 1
  fi
  sleep 0.5
done
