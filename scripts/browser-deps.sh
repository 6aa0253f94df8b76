#!/usr/bin/env bash
# Installs what the browser tests (test/browser) need: Debian's chromium,
# driven headless by chromedp. Idempotent: does nothing when
# /usr/bin/chromium (or $CHROMIUM) is already there. Run as root, or with
# sudo available.
set -euo pipefail

chromium="${CHROMIUM:-/usr/bin/chromium}"
if [ -x "$chromium" ]; then
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "browser-deps.sh: need root or sudo to install chromium" >&2; exit 1; }
  sudo="sudo"
fi

echo "browser-deps.sh: installing chromium" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core fonts-liberation >/dev/null

if ! [ -x "$chromium" ]; then
  echo "browser-deps.sh: chromium is still missing at $chromium" >&2
  exit 1
fi
"$chromium" --version 2>/dev/null || true
