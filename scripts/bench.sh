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
#   scripts/bench.sh -s "s2 s3" -e nats -n 2  # NATS driver, cross-node: publish on 1, subscribe on 2
#
# The server is pinned to core $SERVER_CPU (0) and the generator to
# $GEN_CPU (1) with taskset. Each scenario gets a fresh server process.
# Both servers run with their defaults (1 MiB outbound queue per client);
# set QUEUE_BYTES to give both the same other bound
# (WEBSOCKET_MAX_QUEUE_BYTES / client.queue_max_size). NATIVE_ENV adds
# settings to our server, e.g. NATIVE_ENV="WEBSOCKET_WRITE_DELAY=10ms".
# -H SIZE/TTL gives the benchmark channels of each scenario history
# (BROADCAST_HISTORY: s2 and s4 "s2", s3 "g.*" and "u.*", s1 "s1.*"; s5
# always has it, 10000/5m by default). -e redis (or -r) runs our server on
# the Redis driver with a Redis of its own (port $REDIS_PORT, 6391) and
# reports Redis commands per publish; -e nats on the NATS driver with a
# nats-server -js of its own (port $NATS_PORT, 4291, monitoring on
# $NATS_MON_PORT, 8291, a fresh store per scenario) and reports NATS
# messages per publish; either engine is pinned to $ENGINE_CPU (the
# server's core). -n 2 adds a second node ($NODE2_ADDR, 127.0.0.1:8100)
# on the same engine: s2, s3 and s4 subscribe there while publishing
# goes to node 1 (cross-node), s5's subscribers reconnect there; server
# CPU and RSS are then both nodes' summed. NATIVE_ADDR (127.0.0.1:8099)
# moves our server.
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
ENGINE=memory
NODES=1
REDIS_PORT=${REDIS_PORT:-6391}
NATS_PORT=${NATS_PORT:-4291}
NATS_MON_PORT=${NATS_MON_PORT:-8291}
ENGINE_CPU=${ENGINE_CPU:-${REDIS_CPU:-$SERVER_CPU}}
NODE2_ADDR=${NODE2_ADDR:-127.0.0.1:8100}

usage() { sed -n '2,33p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
while getopts "t:s:o:H:re:n:h" opt; do
	case $opt in
	t) TARGETS=$OPTARG ;;
	s) SCENARIOS=$OPTARG ;;
	o) OUT=$OPTARG ;;
	H) HISTORY=$OPTARG ;;
	r) ENGINE=redis ;;
	e) ENGINE=$OPTARG ;;
	n) NODES=$OPTARG ;;
	*) usage ;;
	esac
done
[[ $HISTORY == "" || $HISTORY =~ ^[0-9]+/[0-9a-z.]+$ ]] || { echo "bench: -H wants SIZE/TTL, e.g. 1000/5m" >&2; exit 2; }
[[ $ENGINE =~ ^(memory|redis|nats)$ ]] || { echo "bench: -e wants memory, redis or nats" >&2; exit 2; }
[[ $NODES == 1 || ($NODES == 2 && $ENGINE != memory) ]] || { echo "bench: -n 2 needs -e redis or -e nats (two nodes share an engine)" >&2; exit 2; }

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

# cross_node reports whether scenario $1 subscribes on node 2 and
# publishes on node 1.
cross_node() { [[ $NODES == 2 && $1 =~ ^s(2|3|4|4o)$ ]]; }

# ws_url prints the WebSocket URL of target $1 on host:port $2.
ws_url() {
	if [[ $1 == native ]]; then
		echo "ws://$2/ws"
	else
		echo "ws://$2/app/velocity-key?protocol=7&client=broadcast-bench&version=8.6.0"
	fi
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
ENGINE_PID=""
# port_free fails, naming the variable that moves it, when $1 is taken.
port_free() {
	if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
		log "port $1 is taken; set $2"
		exit 1
	fi
}
# start_engine starts the Redis or NATS of one scenario and sets driver.
start_engine() {
	case $ENGINE in
	redis)
		port_free "$REDIS_PORT" REDIS_PORT
		taskset -c "$ENGINE_CPU" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
			>>"$OUT/redis.log" 2>&1 &
		ENGINE_PID=$!
		wait_port "$REDIS_PORT" || { log "redis did not open port $REDIS_PORT"; exit 1; }
		driver=(BROADCAST_DRIVER=redis "REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0")
		;;
	nats)
		port_free "$NATS_PORT" NATS_PORT
		port_free "$NATS_MON_PORT" NATS_MON_PORT
		rm -rf "$OUT/nats-store"
		taskset -c "$ENGINE_CPU" nats-server -js -a 127.0.0.1 -p "$NATS_PORT" -m "$NATS_MON_PORT" -sd "$OUT/nats-store" \
			>>"$OUT/nats.log" 2>&1 &
		ENGINE_PID=$!
		wait_port "$NATS_PORT" && wait_port "$NATS_MON_PORT" || { log "nats-server did not open ports $NATS_PORT and $NATS_MON_PORT"; exit 1; }
		driver=(BROADCAST_DRIVER=nats "NATS_URL=nats://127.0.0.1:$NATS_PORT")
		;;
	esac
}
start_server() { # target scenario
	local port queue=$QUEUE_BYTES rules driver=()
	case $1 in
	native | pusher)
		rules=$(history_rules "$2")
		start_engine
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
	for pid in $SERVER_PID $NODE2_PID $ENGINE_PID; do
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	SERVER_PID="" NODE2_PID="" ENGINE_PID=""
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
			if cross_node "$scen"; then
				args+=(-url "$(ws_url "$target" "$NODE2_ADDR")" -api "http://$NATIVE_ADDR")
			elif [[ $NATIVE_ADDR != 127.0.0.1:8099 ]]; then
				args+=(-url "$(ws_url "$target" "$NATIVE_ADDR")" -api "http://$NATIVE_ADDR")
			fi
			rules=$(history_rules "$scen")
			[[ -z $rules ]] || args+=(-history "$rules")
			[[ $ENGINE != redis ]] || args+=(-redis-addr "127.0.0.1:$REDIS_PORT")
			[[ $ENGINE != nats ]] || args+=(-nats-monitor "127.0.0.1:$NATS_MON_PORT")
			[[ $NODES != 2 || $scen != s5 ]] || args+=(-reconnect-url "ws://$NODE2_ADDR/ws")
		elif [[ $scen == s5 ]]; then
			log "centrifugo s5: skipped (s5 speaks the native protocol)"
			continue
		fi
		args+=("${EXTRA[@]}")
		start_server "$target" "$scen"
		pids=$SERVER_PID${NODE2_PID:+,$NODE2_PID}
		[[ $ENGINE != nats || -z $ENGINE_PID ]] || args+=(-nats-pid "$ENGINE_PID")
		log "$target $scen (server pid $pids on core $SERVER_CPU, load: $(cut -d' ' -f1-3 /proc/loadavg))"
		engine=""
		[[ $target == centrifugo || $ENGINE == memory ]] || engine="(BROADCAST_DRIVER=$ENGINE, $NODES node(s)$(! cross_node "$scen" || echo ", subscribers on node 2, publishing on node 1")) "
		COMMANDS+=("${QUEUE_BYTES:+(queue bound $QUEUE_BYTES B) }${NATIVE_ENV:+($target: $NATIVE_ENV if native) }${rules:+(BROADCAST_HISTORY=$rules) }$engine""taskset -c $GEN_CPU broadcast-bench ${args[*]} -server-pid <pid>   # load before: $(cut -d' ' -f1-3 /proc/loadavg)")
		taskset -c "$GEN_CPU" "$OUT/bin/broadcast-bench" "${args[@]}" -server-pid "$pids" \
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
	two=""
	[[ $NODES == 1 ]] || two="; s2/s3/s4 subscribe on $NODE2_ADDR and publish on $NATIVE_ADDR, s5 reconnects to $NODE2_ADDR; server CPU and RSS are both nodes' summed"
	case $ENGINE in
	redis) echo "- our server's driver: redis (redis-server $(redis-server --version | cut -d' ' -f3 | cut -d= -f2) on core $ENGINE_CPU, port $REDIS_PORT, no persistence), $NODES node(s)$two" ;;
	nats) echo "- our server's driver: nats (nats-server $(nats-server --version | awk '{print $NF}') -js on core $ENGINE_CPU, port $NATS_PORT, monitoring $NATS_MON_PORT), $NODES node(s)$two" ;;
	*) echo "- our server's driver: in-memory" ;;
	esac
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
