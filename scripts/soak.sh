#!/usr/bin/env bash
# Soak test: one examples/benchserver node under thousands of WebSocket
# connections with churn, subscribe/unsubscribe traffic and publishes,
# sampling the node's RSS, goroutines and open files; prints every sample,
# the least-squares slopes per hour and the delivery errors.
#
#   scripts/soak.sh                    # 30 minutes, 5,000 connections
#   scripts/soak.sh -d 3m              # a quick run
#   scripts/soak.sh -d 1h -c 8000 -r 100 -- -redis -churn 0.1
#
# -d duration, -c connections, -r publishes/s, -o output directory
# (default bench/results/<UTC stamp>-soak/); flags after -- go to
# "broadcast-chaos soak" (see its -h). It builds the binaries from this
# checkout, talks to loopback only and stops every process it started.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DURATION=30m
CONNS=5000
RATE=50
OUT=""
usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
while getopts "d:c:r:o:h" opt; do
	case $opt in
	d) DURATION=$OPTARG ;;
	c) CONNS=$OPTARG ;;
	r) RATE=$OPTARG ;;
	o) OUT=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[[ ${1:-} == "--" ]] && shift
EXTRA=("$@")

OUT=${OUT:-$ROOT/bench/results/$(date -u +%Y%m%dT%H%M%SZ)-soak}
mkdir -p "$OUT/bin"
# shellcheck source=scripts/lib-chaos.sh
. "$ROOT/scripts/lib-chaos.sh"
build_tools "$ROOT" "$OUT/bin"

ARGS=(soak -benchserver "$OUT/bin/benchserver" -dir "$OUT" -d "$DURATION" -conns "$CONNS" -rate "$RATE" "${EXTRA[@]}")
{
	echo "# soak, $(date -u '+%Y-%m-%d %H:%M UTC'), built from $COMMIT"
	echo "# $(nproc) CPUs, $(go version | cut -d' ' -f3), load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "# broadcast-chaos ${ARGS[*]}"
} | tee "$OUT/soak.txt"
run_tool "$OUT" "$OUT/soak.txt" "$OUT/bin/broadcast-chaos" "${ARGS[@]}"
echo "# load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/soak.txt"
echo "soak: figures in $OUT/soak.txt" >&2
