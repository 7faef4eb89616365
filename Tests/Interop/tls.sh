#!/usr/bin/env bash
# Beacon over TLS end to end (issue 18): HTTPS side channel checked with curl and openssl s_client,
# client certificates and cert: grants, the sidecar over HTTPS, a TLS handshake flood and slow
# handshakes against the connection limits, and a three-member etcd cluster with client and peer TLS
# shared by two Beacon nodes through etcds://. See tls_interop.py for the checks.
#
# Installs nothing: needs curl, openssl, etcd (Debian: etcd-server) and python3 on PATH, and a
# release build ($BEACON_BIN, default .build/release/beacon). Certificates are made in a temporary
# directory by tls-certs.sh. Every process it starts is stopped by PID; the run is bounded by timeout.
set -u
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export BEACON_BIN="${BEACON_BIN:-$root/.build/release/beacon}"
for tool in curl openssl etcd python3 timeout; do
    command -v "$tool" >/dev/null || { echo "not ok - $tool not found on PATH"; exit 2; }
done
[ -x "$BEACON_BIN" ] || { echo "not ok - $BEACON_BIN is not built (swift build -c release --product beacon)"; exit 2; }

export CLUSTER_PIDS="$(mktemp)"
runner=""
cleanup() {
    [ -n "$runner" ] && kill -TERM "$runner" 2>/dev/null && wait "$runner" 2>/dev/null
    # Anything the runner could not stop (it was killed itself): by PID, never by name, and only
    # when the PID still runs one of our commands (it may have been reused since).
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

timeout --signal=TERM --kill-after=10 200 python3 -u "$here/tls_interop.py" &
runner=$!
wait "$runner"
status=$?
runner=""
exit "$status"
