#!/usr/bin/env bash
# Installs Debian packages for the test scripts, saying first in one line
# what it installs and why, and failing with one line that says what is
# missing and how to get it when it cannot install (no apt-get, not root
# and no sudo, or apt-get failed; apt's own output is kept in a log).
#
#   scripts/apt-install.sh WHY HOWTO PACKAGE...
#
# WHY is what the packages are for ("redis-server is needed on
# 127.0.0.1:6379 for the Redis tests"); HOWTO is the way around an install
# that cannot happen here ("install it or set REDIS_URL").
set -euo pipefail

if [ $# -lt 3 ]; then
  echo "usage: $0 WHY HOWTO PACKAGE..." >&2
  exit 2
fi
why=$1 howto=$2
shift 2
caller=$(basename "${CALLER:-$0}")

cannot() {
  echo "$caller: $why; $howto ($*)" >&2
  exit 1
}

command -v apt-get >/dev/null || cannot "apt-get is not available to install $*"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || cannot "not root and no sudo to install $*"
  sudo="sudo"
  if [ ! -t 0 ] && ! sudo -n true 2>/dev/null; then
    cannot "sudo needs a password to install $*"
  fi
fi

echo "$caller: installing $* with apt-get: $why" >&2
log="${TMPDIR:-/tmp}/velocity-apt-install.log"
export DEBIAN_FRONTEND=noninteractive
if ! { $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends "$@"; } >"$log" 2>&1; then
  cannot "apt-get could not install $*, see $log"
fi
