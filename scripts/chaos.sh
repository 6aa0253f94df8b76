#!/usr/bin/env bash
# Chaos test: a Redis of its own, two examples/benchserver nodes on it
# (Redis driver), subscribers on node B that reconnect and subscribe again
# on every close, a publisher on node A at 100/s with sequence numbers,
# and one fault per run. Prints, per fault: publishes acknowledged,
# acknowledged but lost (per subscriber min/median/max), duplicated, time
# to resume, the close codes subscribers saw, and the publisher's errors.
#
#   scripts/chaos.sh                       # the three faults, one run each
#   scripts/chaos.sh -f redis-stop         # one fault
#   scripts/chaos.sh -f redis-stop -n 5    # five runs of one fault (the
#                                          # losses of redis-stop vary a lot
#                                          # between runs: compare several)
#   scripts/chaos.sh -f node-restart -- -subs 500 -hold 3s
#
# Faults: redis-stop (SIGSTOP 10 s, then SIGCONT), redis-restart (SIGKILL,
# restarted empty on the same port), node-restart (node B SIGKILLed and
# restarted). -o sets the output directory (default
# bench/results/<UTC stamp>-chaos/); flags after -- go to every
# "broadcast-chaos fault" run (see its -h). It builds the binaries from
# this checkout, talks to loopback only and stops every process it started.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
FAULTS="redis-stop redis-restart node-restart"
RUNS=1
OUT=""
usage() { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
while getopts "f:n:o:h" opt; do
	case $opt in
	f) FAULTS=$OPTARG ;;
	n) RUNS=$OPTARG ;;
	o) OUT=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[[ ${1:-} == "--" ]] && shift
EXTRA=("$@")

OUT=${OUT:-$ROOT/bench/results/$(date -u +%Y%m%dT%H%M%SZ)-chaos}
mkdir -p "$OUT/bin"
# shellcheck source=scripts/lib-chaos.sh
. "$ROOT/scripts/lib-chaos.sh"
build_tools "$ROOT" "$OUT/bin"

{
	echo "# chaos, $(date -u '+%Y-%m-%d %H:%M UTC'), built from $COMMIT"
	echo "# $(nproc) CPUs, $(go version | cut -d' ' -f3), $(redis-server --version | cut -d' ' -f1-3)"
} | tee "$OUT/chaos.txt"
rc=0
for fault in $FAULTS; do
	for run in $(seq "$RUNS"); do
		dir=$OUT/$fault$([[ $RUNS == 1 ]] || echo "-$run")
		mkdir -p "$dir"
		ARGS=(fault -fault "$fault" -benchserver "$OUT/bin/benchserver" -dir "$dir" "${EXTRA[@]}")
		echo "# broadcast-chaos ${ARGS[*]}   (load average before: $(cut -d' ' -f1-3 /proc/loadavg))" | tee -a "$OUT/chaos.txt"
		run_tool "$dir" "$OUT/chaos.txt" "$OUT/bin/broadcast-chaos" "${ARGS[@]}" || {
			rc=1
			echo "# $fault failed (logs in $dir)" | tee -a "$OUT/chaos.txt"
		}
		sleep 2
	done
done
{
	echo
	"$OUT/bin/broadcast-chaos" table-header
	grep '^| [a-z]' "$OUT/chaos.txt" || true
} | tee "$OUT/table.md"
echo "chaos: figures in $OUT/chaos.txt, one row per run in $OUT/table.md" >&2
exit "$rc"
