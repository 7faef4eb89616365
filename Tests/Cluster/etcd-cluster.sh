#!/usr/bin/env bash
# Beacon on a 3-member etcd cluster: 3 nodes with --store etcd://A,B,C, checked end to end
# (see etcd_cluster.py for the checks). Installs nothing: needs etcd (Debian: etcd-server) and
# python3 on PATH, and a release build ($BEACON_BIN, default .build/release/beacon).
# Every process it starts is stopped by PID on exit; the whole run is bounded by `timeout`.
set -u
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export BEACON_BIN="${BEACON_BIN:-$root/.build/release/beacon}"
for tool in etcd python3 timeout; do
    command -v "$tool" >/dev/null || { echo "not ok - $tool not found on PATH"; exit 2; }
done
[ -x "$BEACON_BIN" ] || { echo "not ok - $BEACON_BIN is not built (swift build -c release --product beacon)"; exit 2; }

export CLUSTER_PIDS="$(mktemp)"
runner=""
cleanup() {
    [ -n "$runner" ] && kill -TERM "$runner" 2>/dev/null && wait "$runner" 2>/dev/null
    # Anything the runner could not stop (it was killed itself): by PID, never by name.
    # The command line is checked first, so that a PID reused since cannot be hit.
    while read -r pid; do
        cmd="$( { tr '\0' ' ' < "/proc/$pid/cmdline"; } 2>/dev/null )"
        case "$cmd" in
            etcd\ *|"$BEACON_BIN"\ *) kill -KILL "$pid" 2>/dev/null ;;
        esac
    done < "$CLUSTER_PIDS"
    rm -f "$CLUSTER_PIDS"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

timeout --signal=TERM --kill-after=10 170 python3 -u "$here/etcd_cluster.py" &
runner=$!
wait "$runner"
status=$?
runner=""
exit "$status"
