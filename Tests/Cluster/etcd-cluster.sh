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

# shellcheck source=Tests/Support/tracked-run.sh
source "$root/Tests/Support/tracked-run.sh"
run_tracked 170 "$here/etcd_cluster.py"
exit $?
