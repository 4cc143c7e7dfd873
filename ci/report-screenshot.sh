#!/usr/bin/env bash
# Render a run's report.html in headless Chromium and save a PNG, to check by eye (or attach to a
# review) that the page shows the verdict banner and the requirement matrix with no external assets.
#
#   ci/report-screenshot.sh [REPORT_DIR] [OUT.png]
#
# REPORT_DIR defaults to a fresh `resetlab certify --defect rtsp-stale-credentials` run in a temp dir
# (a failing run shows the most: banner, what failed, matrix, timeline). Installs chromium with apt
# when missing (needs root or sudo). Chromium runs with a throwaway profile and no network features.
set -euo pipefail
cd "$(dirname "$0")/.."

dir="${1:-}"
png="${2:-report-screenshot.png}"
if [ -z "$dir" ]; then
  dir="$(mktemp -d)/run"
  # Exit 1 is the expected verdict of a defect run.
  cargo run -q -p resetlab -- certify --quiet --defect rtsp-stale-credentials --out "$dir" >/dev/null || [ $? -eq 1 ]
fi
html="$(cd "$dir" && pwd)/report.html"
[ -f "$html" ] || { echo "no report.html in $dir (run \`resetlab certify --out $dir\` first)" >&2; exit 2; }

browser="$(command -v chromium || command -v chromium-browser || true)"
if [ -z "$browser" ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "installing chromium (apt)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
  browser="$(command -v chromium)"
fi

profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
case "$png" in /*) ;; *) png="$PWD/$png" ;; esac
"$browser" --headless --no-sandbox --disable-gpu \
  --disable-background-networking --disable-component-update --disable-sync --no-first-run \
  --user-data-dir="$profile" --hide-scrollbars \
  --window-size=1280,2000 --screenshot="$png" "file://$html" 2>/dev/null
[ -s "$png" ] || { echo "chromium wrote no screenshot" >&2; exit 1; }
echo "screenshot: $png (of $html)"
