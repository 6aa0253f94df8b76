#!/usr/bin/env bash
# Installs, configures and runs Centrifugo v6 for the benchmark comparison,
# entirely outside the repository: nothing here touches our go.mod.
#
#   scripts/centrifugo.sh install   # go install into $CENTRIFUGO_BIN (minutes)
#   scripts/centrifugo.sh config    # write $CENTRIFUGO_DIR/config.json
#   scripts/centrifugo.sh run       # config, then exec the server (foreground)
#   scripts/centrifugo.sh           # install + run
#
# Environment: CENTRIFUGO_BIN (default /tmp/centrifugo-bin),
# CENTRIFUGO_DIR (default /tmp/centrifugo-bench), CENTRIFUGO_PORT (8000),
# CENTRIFUGO_API_KEY (bench-api-key), TASKSET (e.g. "taskset -c 0").
#
# Config keys are those of Centrifugo v6.9.1 (internal/configtypes):
# http_server.{address,port}, engine.type, client.allow_anonymous_connect_without_token,
# client.allowed_origins, channel.namespaces[].{name,allow_subscribe_for_anonymous,
# allow_subscribe_for_client}, http_api.key, prometheus.enabled (the bench reads
# slow-consumer disconnects, code 3008, from /metrics), usage_stats.disabled.
# The bench overrides client.queue_max_size with CENTRIFUGO_CLIENT_QUEUE_MAX_SIZE.
set -euo pipefail

VERSION=v6.9.1
BIN_DIR=${CENTRIFUGO_BIN:-/tmp/centrifugo-bin}
DIR=${CENTRIFUGO_DIR:-/tmp/centrifugo-bench}
PORT=${CENTRIFUGO_PORT:-8000}
KEY=${CENTRIFUGO_API_KEY:-bench-api-key}
BIN=$BIN_DIR/centrifugo

install() {
	if [[ -x $BIN ]]; then
		echo "centrifugo: $BIN already installed" >&2
		return
	fi
	mkdir -p "$BIN_DIR" "$DIR"
	echo "centrifugo: go install github.com/centrifugal/centrifugo/v6@$VERSION (this compiles for a few minutes)" >&2
	# Run from a scratch folder so no module of ours is involved.
	(cd "$DIR" && GOBIN=$BIN_DIR GOFLAGS=-buildvcs=false go install "github.com/centrifugal/centrifugo/v6@$VERSION")
}

config() {
	mkdir -p "$DIR"
	cat >"$DIR/config.json" <<JSON
{
  "http_server": {"address": "127.0.0.1", "port": $PORT},
  "log": {"level": "warn"},
  "engine": {"type": "memory"},
  "client": {
    "allow_anonymous_connect_without_token": true,
    "allowed_origins": ["*"]
  },
  "channel": {
    "namespaces": [
      {"name": "bench", "allow_subscribe_for_anonymous": true, "allow_subscribe_for_client": true}
    ]
  },
  "http_api": {"key": "$KEY"},
  "prometheus": {"enabled": true},
  "usage_stats": {"disabled": true}
}
JSON
	"$BIN" checkconfig -c "$DIR/config.json" >&2
	echo "$DIR/config.json"
}

run() {
	[[ -x $BIN ]] || install
	config >/dev/null
	cd "$DIR"
	# shellcheck disable=SC2086
	exec ${TASKSET:-} "$BIN" -c "$DIR/config.json"
}

case "${1:-all}" in
install) install ;;
config) config ;;
run) run ;;
all) install && run ;;
*)
	echo "usage: $0 [install|config|run]" >&2
	exit 2
	;;
esac
