#!/usr/bin/env bash
# Re-fetches uPlot (MIT, https://github.com/leeoniya/uPlot), the chart
# library of examples/dashboard, from the npm registry with `npm pack` and
# copies its browser build, style sheet and licence next to the page. The
# files are committed, so the dashboard needs no network and no npm at run
# time. Usage: scripts/vendor-chart.sh [version]   (default: the pinned one)
set -euo pipefail
cd "$(dirname "$0")/.."

version="${1:-1.6.32}"
dest=examples/dashboard/dashapp/static/vendor
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

(cd "$tmp" && npm pack "uplot@$version" --silent >/dev/null && tar xzf uplot-*.tgz)
mkdir -p "$dest"
cp "$tmp/package/dist/uPlot.iife.min.js" "$dest/uPlot.iife.min.js"
cp "$tmp/package/dist/uPlot.min.css" "$dest/uPlot.min.css"
cp "$tmp/package/LICENSE" "$dest/uPlot.LICENSE"
echo "uplot $version" > "$dest/VERSION"
echo "vendored uPlot $version into $dest"
