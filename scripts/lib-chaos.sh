# Shared by scripts/chaos.sh and scripts/soak.sh (sourced, not run).

# build_tools ROOT BIN builds examples/benchserver and cmd/broadcast-chaos
# from the checkout at ROOT into BIN, and sets COMMIT.
build_tools() {
	COMMIT="$(git -C "$1" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$1" diff --quiet HEAD 2>/dev/null || echo ' + uncommitted changes')"
	echo "building $COMMIT into $2" >&2
	(cd "$1" && go build -o "$2/benchserver" ./examples/benchserver &&
		go build -o "$2/broadcast-chaos" ./cmd/broadcast-chaos)
	command -v redis-server >/dev/null || { echo "redis-server is not installed" >&2; exit 1; }
}

# run_tool DIR FILE CMD… runs the tool in the foreground, its output
# shown and appended to FILE. On exit, on ^C or
# on a kill of this script, the tool is stopped, and so is every process
# listed in DIR/pids that is still the same process (the tool records
# "pid start-time" of each Redis and node it starts there; they also die
# with it).
run_tool() {
	local dir=$1 file=$2
	shift 2
	: >"$dir/pids"
	"$@" > >(tee -a "$file") &
	TOOL_PID=$!
	TOOL_DIR=$dir
	trap cleanup_tool EXIT
	trap 'cleanup_tool; exit 130' INT TERM
	local rc=0
	wait "$TOOL_PID" || rc=$?
	TOOL_PID=""
	cleanup_tool
	trap - EXIT INT TERM
	return "$rc"
}

cleanup_tool() {
	if [[ -n ${TOOL_PID:-} ]]; then
		kill -TERM "$TOOL_PID" 2>/dev/null || true
		wait "$TOOL_PID" 2>/dev/null || true
		TOOL_PID=""
	fi
	local pid start
	while read -r pid start; do
		[[ -n $pid && $(start_time "$pid") == "$start" ]] || continue
		kill -CONT "$pid" 2>/dev/null || true
		kill -KILL "$pid" 2>/dev/null || true
	done <"${TOOL_DIR:-/dev/null}/pids" 2>/dev/null || true
}

# start_time PID prints the process's start time (field 22 of
# /proc/PID/stat), which tells it from a later process with the same pid.
start_time() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	stat=${stat##*) }
	# shellcheck disable=SC2086 # split the fields
	set -- $stat
	echo "${20}"
}
