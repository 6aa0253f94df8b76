#!/usr/bin/env bash
# Runs the broadcast-bench scenarios against examples/benchserver (and,
# with -t "native centrifugo", against Centrifugo on the same core) and
# writes a report under bench/results/<UTC stamp>/.
#
#   scripts/bench.sh                          # S1–S5 against our server
#   scripts/bench.sh -t "native centrifugo"   # …and Centrifugo (installs it)
#   scripts/bench.sh -t "native pusher"       # our server over both protocols
#   scripts/bench.sh -s "s2 s4" -- -step 5s   # some scenarios, extra flags
#   scripts/bench.sh -s "s2 s3" -H 1000/5m    # with channel history (size/ttl)
#   scripts/bench.sh -s s5                    # recovery from history
#   scripts/bench.sh -s "s2 s5" -r -n 2       # Redis driver; s5 reconnects to node 2
#
# The server is pinned to core $SERVER_CPU (0) and the generator to
# $GEN_CPU (1) with taskset. Each scenario gets a fresh server process.
# Both servers run with their defaults (1 MiB outbound queue per client);
# set QUEUE_BYTES to give both the same other bound
# (WEBSOCKET_MAX_QUEUE_BYTES / client.queue_max_size). NATIVE_ENV adds
# settings to our server, e.g. NATIVE_ENV="WEBSOCKET_WRITE_DELAY=10ms".
# -H SIZE/TTL gives the benchmark channels of each scenario history
# (BROADCAST_HISTORY: s2 and s4 "s2", s3 "g.*" and "u.*", s1 "s1.*"; s5
# always has it, 10000/5m by default). -r runs our server on the Redis
# driver with a Redis of its own (port $REDIS_PORT, 6391, pinned with the
# server) and reports Redis commands per publish; -n 2 adds a second node
# ($NODE2_ADDR, 127.0.0.1:8100) that s5's subscribers reconnect to.
# NATIVE_ADDR (127.0.0.1:8099) moves our server.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGETS="native"
SCENARIOS="s1 s2 s3 s4 s4o s5"
OUT=""
SERVER_CPU=${SERVER_CPU:-0}
GEN_CPU=${GEN_CPU:-1}
QUEUE_BYTES=${QUEUE_BYTES:-}
NATIVE_ENV=${NATIVE_ENV:-}
NATIVE_ADDR=${NATIVE_ADDR:-127.0.0.1:8099}
CENTRIFUGO_PORT=${CENTRIFUGO_PORT:-8000}
HISTORY=""
REDIS=""
NODES=1
REDIS_PORT=${REDIS_PORT:-6391}
REDIS_CPU=${REDIS_CPU:-$SERVER_CPU}
NODE2_ADDR=${NODE2_ADDR:-127.0.0.1:8100}

usage() { sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
while getopts "t:s:o:H:rn:h" opt; do
	case $opt in
	t) TARGETS=$OPTARG ;;
	s) SCENARIOS=$OPTARG ;;
	o) OUT=$OPTARG ;;
	H) HISTORY=$OPTARG ;;
	r) REDIS=1 ;;
	n) NODES=$OPTARG ;;
	*) usage ;;
	esac
done
[[ $HISTORY == "" || $HISTORY =~ ^[0-9]+/[0-9a-z.]+$ ]] || { echo "bench: -H wants SIZE/TTL, e.g. 1000/5m" >&2; exit 2; }
[[ $NODES == 1 || ($NODES == 2 && -n $REDIS) ]] || { echo "bench: -n 2 needs -r (two nodes share a Redis)" >&2; exit 2; }

# history_rules prints the BROADCAST_HISTORY of a scenario ("" for none).
history_rules() {
	local spec=$HISTORY
	[[ $1 == s5 ]] && spec=${spec:-10000/5m}
	[[ -n $spec ]] || return 0
	case $1 in
	s1) echo "s1.*=$spec" ;;
	s3) echo "g.*=$spec,u.*=$spec" ;;
	s5) echo "s5=$spec" ;;
	*) echo "s2=$spec" ;;
	esac
}

# wait_port waits until 127.0.0.1:$1 accepts connections.
wait_port() {
	for _ in $(seq 100); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}
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
NODE2_PID=""
REDIS_PID=""
start_server() { # target scenario
	local port queue=$QUEUE_BYTES rules driver=()
	case $1 in
	native | pusher)
		rules=$(history_rules "$2")
		if [[ -n $REDIS ]]; then
			if (exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT") 2>/dev/null; then
				log "port $REDIS_PORT is taken; set REDIS_PORT"
				exit 1
			fi
			taskset -c "$REDIS_CPU" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
				>>"$OUT/redis.log" 2>&1 &
			REDIS_PID=$!
			wait_port "$REDIS_PORT" || { log "redis did not open port $REDIS_PORT"; exit 1; }
			driver=(BROADCAST_DRIVER=redis "REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0")
		fi
		# shellcheck disable=SC2086 # NATIVE_ENV is a list of NAME=value words
		env ${queue:+WEBSOCKET_MAX_QUEUE_BYTES=$queue} ${rules:+BROADCAST_HISTORY=$rules} "${driver[@]}" $NATIVE_ENV ADDR=$NATIVE_ADDR \
			taskset -c "$SERVER_CPU" "$OUT/bin/benchserver" >>"$OUT/server-native.log" 2>&1 &
		port=${NATIVE_ADDR##*:}
		if [[ $NODES == 2 ]]; then
			SERVER_PID=$!
			# shellcheck disable=SC2086
			env ${queue:+WEBSOCKET_MAX_QUEUE_BYTES=$queue} ${rules:+BROADCAST_HISTORY=$rules} "${driver[@]}" $NATIVE_ENV ADDR=$NODE2_ADDR \
				taskset -c "$SERVER_CPU" "$OUT/bin/benchserver" >>"$OUT/server-native-2.log" 2>&1 &
			NODE2_PID=$!
			wait_port "${NODE2_ADDR##*:}" || { log "node 2 did not open ${NODE2_ADDR##*:}"; exit 1; }
			wait_port "$port" || { log "server $1 did not open port $port"; exit 1; }
			sleep 0.5
			return
		fi
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
	local pid
	for pid in $SERVER_PID $NODE2_PID $REDIS_PID; do
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	SERVER_PID="" NODE2_PID="" REDIS_PID=""
	sleep 2 # let sockets in TIME_WAIT and the other engineers' load settle a bit
}
trap stop_server EXIT

COMMANDS=()
# Targets alternate per scenario so both see similar machine load.
for scen in $SCENARIOS; do
	for target in $TARGETS; do
		args=(-target "$target" -scenario "$scen")
		rules=""
		if [[ $target != centrifugo ]]; then
			if [[ $NATIVE_ADDR != 127.0.0.1:8099 ]]; then
				ws=ws://$NATIVE_ADDR/ws
				[[ $target == native ]] || ws="ws://$NATIVE_ADDR/app/velocity-key?protocol=7&client=broadcast-bench&version=8.6.0"
				args+=(-url "$ws" -api "http://$NATIVE_ADDR")
			fi
			rules=$(history_rules "$scen")
			[[ -z $rules ]] || args+=(-history "$rules")
			[[ -z $REDIS ]] || args+=(-redis-addr "127.0.0.1:$REDIS_PORT")
			[[ $NODES != 2 || $scen != s5 ]] || args+=(-reconnect-url "ws://$NODE2_ADDR/ws")
		elif [[ $scen == s5 ]]; then
			log "centrifugo s5: skipped (s5 speaks the native protocol)"
			continue
		fi
		args+=("${EXTRA[@]}")
		start_server "$target" "$scen"
		log "$target $scen (server pid $SERVER_PID on core $SERVER_CPU, load: $(cut -d' ' -f1-3 /proc/loadavg))"
		COMMANDS+=("${QUEUE_BYTES:+(queue bound $QUEUE_BYTES B) }${NATIVE_ENV:+($target: $NATIVE_ENV if native) }${rules:+(BROADCAST_HISTORY=$rules) }${REDIS:+(BROADCAST_DRIVER=redis, $NODES node(s)) }taskset -c $GEN_CPU broadcast-bench ${args[*]} -server-pid <pid>   # load before: $(cut -d' ' -f1-3 /proc/loadavg)")
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
	if [[ -n $REDIS ]]; then
		echo "- our server's driver: redis (redis-server $(redis-server --version | cut -d' ' -f3 | cut -d= -f2) on core $REDIS_CPU, port $REDIS_PORT, no persistence), $NODES node(s)$([[ $NODES == 1 ]] || echo "; s5 reconnects to $NODE2_ADDR; server CPU and RSS are node 1's")"
	else
		echo "- our server's driver: in-memory"
	fi
	echo "- channel history: ${HISTORY:+$HISTORY (size/ttl) on the benchmark channels of every scenario}${HISTORY:-off}$([[ " $SCENARIOS " != *" s5 "* ]] || echo "; s5: $(history_rules s5)")"
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
