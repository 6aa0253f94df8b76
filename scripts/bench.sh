#!/usr/bin/env bash
# Runs the broadcast-bench scenarios against examples/benchserver (and,
# with -t "native centrifugo", against Centrifugo on the same core) and
# writes a report under bench/results/<UTC stamp>/.
#
#   scripts/bench.sh                          # S1–S4 against our server
#   scripts/bench.sh -t "native centrifugo"   # …and Centrifugo (installs it)
#   scripts/bench.sh -t "native pusher"       # our server over both protocols
#   scripts/bench.sh -s "s2 s4" -- -step 5s   # some scenarios, extra flags
#
# The server is pinned to core $SERVER_CPU (0) and the generator to
# $GEN_CPU (1) with taskset. Each scenario gets a fresh server process.
# Both servers run with their defaults (1 MiB outbound queue per client);
# set QUEUE_BYTES to give both the same other bound
# (WEBSOCKET_MAX_QUEUE_BYTES / client.queue_max_size). NATIVE_ENV adds
# settings to our server, e.g. NATIVE_ENV="WEBSOCKET_WRITE_DELAY=10ms".
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGETS="native"
SCENARIOS="s1 s2 s3 s4 s4o"
OUT=""
SERVER_CPU=${SERVER_CPU:-0}
GEN_CPU=${GEN_CPU:-1}
QUEUE_BYTES=${QUEUE_BYTES:-}
NATIVE_ENV=${NATIVE_ENV:-}
NATIVE_ADDR=127.0.0.1:8099
CENTRIFUGO_PORT=${CENTRIFUGO_PORT:-8000}

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
while getopts "t:s:o:h" opt; do
	case $opt in
	t) TARGETS=$OPTARG ;;
	s) SCENARIOS=$OPTARG ;;
	o) OUT=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[[ ${1:-} == "--" ]] && shift
EXTRA=("$@")

OUT=${OUT:-$ROOT/bench/results/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT/bin"
log() { echo "bench: $*" >&2; }

COMMIT="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo ' + uncommitted changes')"
log "building $COMMIT into $OUT/bin"
(cd "$ROOT" && go build -o "$OUT/bin/benchserver" ./examples/benchserver &&
	go build -o "$OUT/bin/broadcast-bench" ./cmd/broadcast-bench)
if [[ " $TARGETS " == *" centrifugo "* ]]; then
	"$ROOT/scripts/centrifugo.sh" install
fi

SERVER_PID=""
start_server() { # target scenario
	local port queue=$QUEUE_BYTES
	case $1 in
	native | pusher)
		# shellcheck disable=SC2086 # NATIVE_ENV is a list of NAME=value words
		env ${queue:+WEBSOCKET_MAX_QUEUE_BYTES=$queue} $NATIVE_ENV ADDR=$NATIVE_ADDR \
			taskset -c "$SERVER_CPU" "$OUT/bin/benchserver" >>"$OUT/server-native.log" 2>&1 &
		port=${NATIVE_ADDR##*:}
		;;
	centrifugo)
		env ${queue:+CENTRIFUGO_CLIENT_QUEUE_MAX_SIZE=$queue} CENTRIFUGO_PORT=$CENTRIFUGO_PORT \
			TASKSET="taskset -c $SERVER_CPU" "$ROOT/scripts/centrifugo.sh" run >>"$OUT/server-centrifugo.log" 2>&1 &
		port=$CENTRIFUGO_PORT
		;;
	esac
	SERVER_PID=$!
	for _ in $(seq 100); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			sleep 0.5 # let it finish starting
			return
		fi
		sleep 0.1
	done
	log "server $1 did not open port $port"
	exit 1
}

stop_server() {
	[[ -n $SERVER_PID ]] || return 0
	kill -TERM "$SERVER_PID" 2>/dev/null || true
	wait "$SERVER_PID" 2>/dev/null || true
	SERVER_PID=""
	sleep 2 # let sockets in TIME_WAIT and the other engineers' load settle a bit
}
trap stop_server EXIT

COMMANDS=()
# Targets alternate per scenario so both see similar machine load.
for scen in $SCENARIOS; do
	for target in $TARGETS; do
		args=(-target "$target" -scenario "$scen" "${EXTRA[@]}")
		start_server "$target" "$scen"
		log "$target $scen (server pid $SERVER_PID on core $SERVER_CPU, load: $(cut -d' ' -f1-3 /proc/loadavg))"
		COMMANDS+=("${QUEUE_BYTES:+(queue bound $QUEUE_BYTES B) }${NATIVE_ENV:+($target: $NATIVE_ENV if native) }taskset -c $GEN_CPU broadcast-bench ${args[*]} -server-pid <pid>   # load before: $(cut -d' ' -f1-3 /proc/loadavg)")
		taskset -c "$GEN_CPU" "$OUT/bin/broadcast-bench" "${args[@]}" -server-pid "$SERVER_PID" \
			>"$OUT/$target-$scen.jsonl" 2> >(tee "$OUT/$target-$scen.log" >&2) || log "$target $scen failed (see $target-$scen.log)"
		stop_server
	done
done

cat "$OUT"/*.jsonl >"$OUT/results.jsonl" 2>/dev/null || true
{
	echo "# Velocity Broadcast benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo
	echo "- built from: $COMMIT (the working tree when the run started)"
	[[ -z $NATIVE_ENV ]] || echo "- our server's extra settings: $NATIVE_ENV"
	echo "- machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -r), $(go version | cut -d' ' -f3)"
	echo "- server on core $SERVER_CPU, generator on core $GEN_CPU (taskset); load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo
	echo "## Comparison"
	echo
	"$OUT/bin/broadcast-bench" report "$OUT/results.jsonl"
	echo
	echo "## Runs"
	for f in "$OUT"/*-s?.log "$OUT"/*-s4o.log; do
		[[ -f $f ]] || continue
		echo
		echo "### $(basename "$f" .log)"
		echo
		echo '```'
		grep -v '^broadcast-bench: ' "$f" || true
		echo '```'
	done
	echo
	echo "## Commands"
	echo
	echo '```'
	printf '%s\n' "${COMMANDS[@]}"
	echo '```'
	echo
	echo "Raw results: results.jsonl (one JSON object per line)."
} >"$OUT/report.md"
log "report: $OUT/report.md"
