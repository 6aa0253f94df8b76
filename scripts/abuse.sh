#!/usr/bin/env bash
# Attacks a fresh benchserver per attack with cmd/broadcast-abuse and
# prints what the server did: its memory, the attackers' fate, the latency
# healthy clients saw. Loopback only; every process is stopped at exit.
#
#   scripts/abuse.sh                       # every attack against this checkout
#   scripts/abuse.sh -a "subflood burst"   # some attacks
#   scripts/abuse.sh -r 6311154            # the server built from another commit
#   scripts/abuse.sh -d 20s                # how long each attack runs (default 10s)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ATTACKS="subflood pingflood junk flood burst"
REF=""
DUR=10s
while getopts "a:r:d:h" opt; do
	case $opt in
	a) ATTACKS=$OPTARG ;;
	r) REF=$OPTARG ;;
	d) DUR=$OPTARG ;;
	*) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
	esac
done

WORK=$(mktemp -d)
SERVER_PID=""
cleanup() {
	[[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null || true
	[[ -n $REF ]] && git -C "$ROOT" worktree remove --force "$WORK/src" 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT

SRC=$ROOT
if [[ -n $REF ]]; then
	git -C "$ROOT" worktree add -q --detach "$WORK/src" "$REF"
	SRC=$WORK/src
fi
(cd "$SRC" && go build -o "$WORK/benchserver" ./examples/benchserver)
(cd "$ROOT" && go build -o "$WORK/abuse" ./cmd/broadcast-abuse)
echo "server built from $(git -C "$SRC" rev-parse --short HEAD); attacks: $ATTACKS; $DUR each"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

for a in $ATTACKS; do
	PORT=$(free_port)
	ADDR=127.0.0.1:$PORT ulimit -n 20000 2>/dev/null || true
	ADDR=127.0.0.1:$PORT "$WORK/benchserver" >"$WORK/server-$a.log" 2>&1 &
	SERVER_PID=$!
	for _ in $(seq 50); do
		curl -fs "http://127.0.0.1:$PORT/stats" >/dev/null 2>&1 && break
		sleep 0.1
	done
	"$WORK/abuse" -addr "127.0.0.1:$PORT" -pid "$SERVER_PID" -attack "$a" -d "$DUR" || echo "attack $a failed"
	kill "$SERVER_PID" 2>/dev/null || true
	wait "$SERVER_PID" 2>/dev/null || true
	SERVER_PID=""
done
