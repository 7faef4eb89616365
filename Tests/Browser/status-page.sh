#!/usr/bin/env bash
# Browser test of the status page (GET / and /ui): headless Chromium against a live Beacon.
#
# Starts `$BEACON_BIN serve --in-memory` (default .build/release/beacon) on free loopback ports with
# a token file, registers instances, and checks in the rendered page: the listing, keyboard use, a
# registration made after load appearing without a reload, an expired lease disappearing, the
# unreachable banner and recovery, 10,000 functions, and that its stylesheet and script
# (/ui/style.css, /ui/lib.js, /ui/app.js) come from the server under a 'self'-only Content-Security-Policy that
# refuses inline script and style. Saves Tests/Browser/status-page.png.
# Installs Chromium (Debian package `chromium`) when it is missing. Bounded: at most 170 s.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo"
BEACON_BIN=${BEACON_BIN:-.build/release/beacon}
[ -x "$BEACON_BIN" ] || { echo "status-page.sh: $BEACON_BIN not found; run: swift build -c release --product beacon" >&2; exit 1; }
BEACON_BIN=$(cd "$(dirname "$BEACON_BIN")" && pwd)/$(basename "$BEACON_BIN")

if ! command -v chromium >/dev/null 2>&1; then
    echo "status-page.sh: installing chromium" >&2
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
command -v python3 >/dev/null 2>&1 || { echo "status-page.sh: python3 is needed" >&2; exit 1; }

work=$(mktemp -d /tmp/beacon-status-page.XXXXXX)
pids="$work/pids"
: >"$pids"
driver=""
cleanup() {
    # Every process started here, by PID: the driver first, then what it started (Beacon, Chromium).
    [ -n "$driver" ] && kill "$driver" 2>/dev/null && wait "$driver" 2>/dev/null || true
    while read -r pid; do kill "$pid" 2>/dev/null || true; done <"$pids"
    sleep 0.5
    while read -r pid; do kill -9 "$pid" 2>/dev/null || true; done <"$pids"
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start=$(date +%s)
BEACON_BIN="$BEACON_BIN" WORK_DIR="$work" PIDS_FILE="$pids" REPO_ROOT="$repo" \
    SCREENSHOT="$here/status-page.png" CHROMIUM=chromium \
    timeout 170 python3 "$here/status_page_check.py" &
driver=$!
status=0
wait "$driver" || status=$?
driver=""
echo "status-page.sh: $(( $(date +%s) - start )) s, exit $status"
[ "$status" -eq 0 ] || { echo "--- beacon log (tail)"; tail -n 20 "$work/beacon.log" 2>/dev/null || true; }
exit "$status"
