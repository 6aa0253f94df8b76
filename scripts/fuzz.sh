#!/usr/bin/env bash
# Runs every fuzz target of the module for a short budget each. FUZZTIME
# is a duration or a count of inputs; the default, 50000x, keeps short runs
# clear of the fuzzer's own deadline. A crash fails the run and leaves its
# input under the package's testdata/fuzz/, where it becomes a regression
# case of the ordinary tests once committed.
#
#   scripts/fuzz.sh              # every target, 50,000 inputs each
#   FUZZTIME=1m scripts/fuzz.sh  # longer
set -euo pipefail
cd "$(dirname "$0")/.."

budget=${FUZZTIME:-50000x}
found=0
while IFS=: read -r file name; do
  pkg="./$(dirname "$file")"
  echo "fuzz: $pkg $name ($budget)"
  go test -run '^$' -fuzz "^${name}\$" -fuzztime "$budget" "$pkg" >/tmp/velocity-fuzz.log 2>&1 || {
    cat /tmp/velocity-fuzz.log
    echo "fuzz: $name in $pkg failed; the crashing input is under $pkg/testdata/fuzz/$name"
    exit 1
  }
  found=$((found + 1))
done < <(git ls-files '*_test.go' | xargs grep -oE '^func Fuzz[A-Za-z0-9_]+' | sed 's/^\(.*\):func /\1:/' | sort)
echo "fuzz: $found targets, $budget each, no crash"
