#!/usr/bin/env bash
# Runs every test of the project: go vet, the Go tests with the race
# detector, and the Node compatibility tests with the real npm clients.
#
# The Go tests need Redis at REDIS_URL (default redis://127.0.0.1:6379/0),
# NATS with JetStream at NATS_URL (default nats://127.0.0.1:4222) and
# Chromium for the browser tests. When no Redis or NATS answers on a local
# address, this starts redis-server or nats-server there (installing
# Debian's package first when it is missing), and scripts/browser-deps.sh
# installs Chromium.
# VELOCITY_REQUIRE_SERVICES=1 is exported, so a test whose service is
# missing fails instead of being skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
export NATS_URL="${NATS_URL:-nats://127.0.0.1:4222}"
export VELOCITY_REQUIRE_SERVICES=1

# redis_hostport prints "HOST PORT" of REDIS_URL.
redis_hostport() {
  local rest=${REDIS_URL#*://}
  rest=${rest##*@}
  rest=${rest%%/*}
  rest=${rest%%\?*}
  local host=${rest%:*} port=6379
  if [[ $rest == *:* && $rest != *"]" ]]; then port=${rest##*:}; else host=$rest; fi
  host=${host#[}
  host=${host%]}
  echo "${host:-127.0.0.1} $port"
}

# redis_answers reports whether something at REDIS_URL answers a PING
# like Redis (+PONG, or an error asking for AUTH).
redis_answers() {
  if command -v redis-cli >/dev/null; then
    redis-cli -u "$REDIS_URL" ping 2>/dev/null | grep -q PONG && return 0
  fi
  local host port reply
  read -r host port < <(redis_hostport)
  # shellcheck disable=SC2016 # expanded by the inner bash
  reply=$(timeout 3 bash -c '
    exec 2>/dev/null 3<>"/dev/tcp/$0/$1" || exit 1
    printf "PING\r\n" >&3
    IFS= read -r -t 2 line <&3 && echo "$line"' "$host" "$port") || return 1
  [[ $reply == "+PONG"* || $reply == "-NOAUTH"* ]]
}

ensure_redis() {
  redis_answers && return
  local host port
  read -r host port < <(redis_hostport)
  case $host in
  127.* | localhost | ::1) ;;
  *)
    echo "test.sh: Redis at $REDIS_URL does not answer; start it, or unset REDIS_URL to use one started here on 127.0.0.1:6379" >&2
    exit 1
    ;;
  esac
  local why="redis-server is needed on $host:$port for the Redis tests"
  if ! command -v redis-server >/dev/null; then
    CALLER=test.sh ./scripts/apt-install.sh "$why" "install it or set REDIS_URL to a running Redis" redis-server
  fi
  local log="${TMPDIR:-/tmp}/velocity-redis-$port.log"
  echo "test.sh: starting redis-server on $host:$port (log: $log)" >&2
  redis-server --daemonize yes --bind "$host" --port "$port" --save "" --appendonly no \
    --dir "${TMPDIR:-/tmp}" --logfile "$log" >/dev/null ||
    { echo "test.sh: $why, and redis-server did not start; see $log" >&2; exit 1; }
  for _ in $(seq 50); do
    redis_answers && return
    sleep 0.1
  done
  echo "test.sh: $why, and redis-server started but does not answer; see $log" >&2
  exit 1
}

# nats_hostport prints "HOST PORT" of NATS_URL (its first server).
nats_hostport() {
  local rest=${NATS_URL#*://}
  rest=${rest%%,*}
  rest=${rest##*@}
  rest=${rest%%/*}
  local host=${rest%:*} port=4222
  if [[ $rest == *:* ]]; then port=${rest##*:}; else host=$rest; fi
  echo "${host:-127.0.0.1} $port"
}

# nats_answers reports whether something at NATS_URL greets like NATS.
nats_answers() {
  local host port reply
  read -r host port < <(nats_hostport)
  # shellcheck disable=SC2016 # expanded by the inner bash
  reply=$(timeout 3 bash -c '
    exec 2>/dev/null 3<>"/dev/tcp/$0/$1" || exit 1
    IFS= read -r -t 2 line <&3 && echo "$line"' "$host" "$port") || return 1
  [[ $reply == "INFO "* ]]
}

ensure_nats() {
  nats_answers && return
  local host port
  read -r host port < <(nats_hostport)
  case $host in
  127.* | localhost) ;;
  *)
    echo "test.sh: NATS at $NATS_URL does not answer; start it, or unset NATS_URL to use one started here on 127.0.0.1:4222" >&2
    exit 1
    ;;
  esac
  local why="nats-server with JetStream is needed on $host:$port for the NATS tests"
  if ! command -v nats-server >/dev/null; then
    CALLER=test.sh ./scripts/apt-install.sh "$why" "install it or set NATS_URL to a running NATS" nats-server
  fi
  local dir="${TMPDIR:-/tmp}/velocity-nats-$port" log="${TMPDIR:-/tmp}/velocity-nats-$port.log"
  mkdir -p "$dir"
  echo "test.sh: starting nats-server -js on $host:$port (log: $log)" >&2
  nohup nats-server -js -a "$host" -p "$port" -sd "$dir" >"$log" 2>&1 &
  for _ in $(seq 50); do
    nats_answers && return
    sleep 0.1
  done
  echo "test.sh: $why, and nats-server started but does not answer; see $log" >&2
  exit 1
}

ensure_redis
ensure_nats

echo "== browser test prerequisites (chromium)"
./scripts/browser-deps.sh

echo "== go vet"
go vet ./...

echo "== go test -race"
go test -race -count=1 -timeout 20m ./...

if [ -f test/compat/package.json ]; then
  echo "== node compatibility tests (pusher-js, laravel-echo, pusher SDK)"
  if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
    echo "test.sh: Node.js >= 20.19 with npm is needed for the compatibility tests in test/compat; install it from nodejs.org or your distribution" >&2
    exit 1
  fi
  (cd test/compat && npm ci --no-audit --no-fund --loglevel=error && npm test)
fi
