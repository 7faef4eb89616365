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

# shellcheck source=Tests/Support/tracked-run.sh
source "$root/Tests/Support/tracked-run.sh"
run_tracked 200 "$here/tls_interop.py"
exit $?
