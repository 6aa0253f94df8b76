#!/usr/bin/env bash
# Installs what the browser tests (test/browser) need: Debian's chromium,
# driven headless by chromedp. Idempotent: does nothing when $CHROMIUM, or
# chromium or chromium-browser on PATH, is already there. Installing needs
# root, or sudo; without them it says so in one line and fails.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "${CHROMIUM:-}" ]; then
  if [ -x "$CHROMIUM" ]; then
    exit 0
  fi
  echo "browser-deps.sh: CHROMIUM=$CHROMIUM is not an executable; point it at a Chromium or Chrome binary, or unset it to install Debian's chromium" >&2
  exit 1
fi
for name in chromium chromium-browser; do
  if command -v "$name" >/dev/null; then
    exit 0
  fi
done

CALLER=browser-deps.sh ./scripts/apt-install.sh \
  "Chromium is needed for the browser tests (test/browser)" \
  "install chromium or set CHROMIUM to a Chromium or Chrome binary" \
  chromium fonts-dejavu-core fonts-liberation

if ! command -v chromium >/dev/null; then
  echo "browser-deps.sh: the chromium package is installed but chromium is not on PATH; set CHROMIUM to its binary" >&2
  exit 1
fi
chromium --version 2>/dev/null || true
