#!/usr/bin/env bash
# Checks the code and its dependencies against the Go vulnerability
# database, offline and pinned: the database is built locally from a fixed
# version of the golang.org/x/vulndb module (its data/osv reports, indexed
# by its own cmd/indexdb into the v1 layout) fetched like any module, and a
# fixed govulncheck reads it with -db file://. Nothing else is contacted, so
# the same tree gives the same answer until a version below is changed.
#
#   scripts/vulncheck.sh                  # summary; fails on fixable module findings
#   VULNCHECK_STRICT=1 scripts/vulncheck.sh   # fails on any finding
#
# Exit status: 0 when nothing needs action from this repository; 1 when the
# code reaches a vulnerability of a required module that has a fixed version
# (raise it in go.mod), or on any finding with VULNCHECK_STRICT=1; 2 when the
# check could not run. Findings in the standard library (fixed by a newer Go
# release) and those without a fixed version are printed but do not fail.
# The full govulncheck report is kept in $cache/report.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

GOVULNCHECK_VERSION=v1.9.0
VULNDB_VERSION=v0.0.0-20261105234957-e22db6528018

cache="${TMPDIR:-/tmp}/velocity-ci-vuln"
govulncheck="$cache/govulncheck-$GOVULNCHECK_VERSION/govulncheck"
indexdb="$cache/indexdb-$VULNDB_VERSION/indexdb"
db="$cache/db-$VULNDB_VERSION"
mkdir -p "$cache"

die() { echo "vulncheck: $*" >&2; exit 2; }

if [ ! -x "$govulncheck" ]; then
  GOBIN="$(dirname "$govulncheck")" go install "golang.org/x/vuln/cmd/govulncheck@$GOVULNCHECK_VERSION" ||
    die "cannot build golang.org/x/vuln/cmd/govulncheck@$GOVULNCHECK_VERSION (is the Go module proxy reachable?)"
fi

if [ ! -f "$db/index/db.json" ]; then
  # Outside the module, so that the download leaves go.mod and go.sum alone.
  src=$(cd "$cache" && GOFLAGS=-mod=mod go mod download -json "golang.org/x/vulndb@$VULNDB_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') || true
  if [ -z "$src" ] || [ ! -d "$src/data/osv" ]; then
    die "cannot download golang.org/x/vulndb@$VULNDB_VERSION (is the Go module proxy reachable?)"
  fi
  if [ ! -x "$indexdb" ]; then
    (cd "$cache" && GOBIN="$(dirname "$indexdb")" go install "golang.org/x/vulndb/cmd/indexdb@$VULNDB_VERSION") ||
      die "cannot build golang.org/x/vulndb/cmd/indexdb@$VULNDB_VERSION"
  fi
  tmp="$db.tmp.$$"
  rm -rf "$tmp"
  "$indexdb" -vulns "$src/data/osv" -out "$tmp" || die "indexdb could not build the database from $src/data/osv"
  rm -rf "$db" && mv "$tmp" "$db"
fi

report="$cache/report.txt"
status=0
"$govulncheck" -db "file://$db" ./... >"$report" 2>&1 || status=$?
case $status in
0)
  echo "vulncheck: no vulnerabilities reached (govulncheck $GOVULNCHECK_VERSION, golang.org/x/vulndb $VULNDB_VERSION, $(go env GOVERSION))"
  exit 0
  ;;
3) ;; # findings
*)
  cat "$report" >&2
  die "govulncheck failed (exit $status)"
  ;;
esac

# One line per finding: ID, where, the fixed version, and what it asks of us.
# govulncheck's text report names each vulnerability ("Vulnerability #N:
# ID"), then for each affected module or the standard library a "Found in"
# and a "Fixed in" line.
summary=$(awk -v strict="${VULNCHECK_STRICT:-}" '
  /^Vulnerability #/ { id = $3; title = ""; intitle = 1; next }
  /^  More info:/       { intitle = 0 }
  intitle               { t = $0; sub(/^ +/, "", t); title = title (title == "" ? "" : " ") t; next }
  /^  Standard library/ { std = 1 }
  /^  Module: /         { std = 0 }
  /^    Found in: /     { found = $3 }
  /^    Fixed in: /     {
    fixed = $3
    if (std)              { what = "standard library: needs a newer Go release"; bad = strict != "" }
    else if (fixed == "N/A") { what = "no fixed version yet"; bad = strict != "" }
    else                  { what = "ACTION: require the fixed version in go.mod"; bad = 1 }
    printf "vulncheck: %s %s %s (fixed in %s): %s; %s\n", (bad ? "FAIL" : "note"), id, found, fixed, title, what
  }
' "$report")
echo "$summary"
echo "vulncheck: $(grep -m1 '^Your code is affected' "$report" || echo 'findings above') (govulncheck $GOVULNCHECK_VERSION, golang.org/x/vulndb $VULNDB_VERSION, $(go env GOVERSION); full report: $report)"
if grep -q '^vulncheck: FAIL' <<<"$summary"; then
  exit 1
fi
exit 0
