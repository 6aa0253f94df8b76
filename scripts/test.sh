#!/usr/bin/env bash
# Runs every test of the project: go vet, the Go tests with the race
# detector (they need Redis at REDIS_URL, started here when nothing
# answers), and the Node compatibility tests with the real npm clients.
set -euo pipefail
cd "$(dirname "$0")/.."

export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"

ensure_redis() {
  if command -v redis-cli >/dev/null && redis-cli -u "$REDIS_URL" ping >/dev/null 2>&1; then
    return
  fi
  if ! command -v redis-server >/dev/null; then
    echo "test.sh: installing redis-server" >&2
    apt-get update -qq && apt-get install -y -qq redis-server >/dev/null
  fi
  echo "test.sh: starting redis-server on 127.0.0.1:6379" >&2
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /tmp --logfile /tmp/velocity-redis.log
  for _ in $(seq 50); do redis-cli ping >/dev/null 2>&1 && return; sleep 0.1; done
  echo "test.sh: redis did not start" >&2; exit 1
}

ensure_redis

echo "== browser test prerequisites (chromium)"
./scripts/browser-deps.sh

echo "== go vet"
go vet ./...

echo "== go test -race"
go test -race -count=1 -timeout 20m ./...

if [ -f test/compat/package.json ]; then
  echo "== node compatibility tests (pusher-js, laravel-echo, pusher SDK)"
  (cd test/compat && npm ci --no-audit --no-fund --loglevel=error && npm test)
fi
