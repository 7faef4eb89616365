#!/usr/bin/env bash
# A full or read-only data directory (issue 3): registrations get 503 (never acknowledged and
# lost), /healthz says so, DNS keeps answering, and after a restart everything acknowledged is
# back. Mounts a 16 KiB tmpfs (needs root); everything is undone on exit.
set -euo pipefail
BEACON_BIN=$(realpath "${BEACON_BIN:-.build/release/beacon}")
WORK=$(mktemp -d /tmp/beacon-fulldisk.XXXXXX)
DATA=$WORK/data
PID=
failures=0
cleanup() {
    [ -z "$PID" ] || kill -9 "$PID" 2>/dev/null || true
    wait 2>/dev/null || true
    umount "$DATA" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
ok() { echo "ok - $1"; }
not_ok() { echo "not ok - $1"; failures=$((failures + 1)); }
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

mkdir -p "$DATA"
mount -t tmpfs -o size=16k tmpfs "$DATA"
DNS=$(port); HTTP=$(port)
start() {
    "$BEACON_BIN" serve --data "$DATA" --dns 127.0.0.1:$DNS --http 127.0.0.1:$HTTP --zones "$WORK" 2>>"$WORK/beacon.log" &
    PID=$!
    for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$HTTP/healthz" && return 0; sleep 0.05; done
    return 1
}
register() { # register N: prints the HTTP status
    curl -s -o "$WORK/reply" -w '%{http_code}' -XPOST "http://127.0.0.1:$HTTP/v1/register" \
        -d "{\"service\":\"disk\",\"function\":\"fill\",\"id\":\"i$1\",\"address\":\"10.0.0.1\",\"port\":$((1000 + $1)),\"ttl\":3600}"
}

start
acked=()
refused=0
for n in $(seq 1 1000); do
    status=$(register "$n")
    if [ "$status" = 200 ]; then acked+=("$n"); elif [ "$status" = 503 ]; then refused=$((refused + 1)); fi
done
echo "# full disk: ${#acked[@]} registrations acknowledged, $refused refused with 503; last reply: $(cat "$WORK/reply")"
[ "$refused" -gt 0 ] && grep -q "journal" "$WORK/reply" && ok "a full disk answers 503 naming the journal" || not_ok "no 503 from a full disk"
health=$(curl -s -w ' %{http_code}' "http://127.0.0.1:$HTTP/healthz")
echo "# /healthz: $health"
[[ $health == *503 ]] && ok "/healthz reports the store unavailable" || not_ok "/healthz did not report the full disk"
answer=$(dig +short @127.0.0.1 -p "$DNS" "i${acked[0]}.fill.disk.local" A || true)
[ "$answer" = 10.0.0.1 ] && ok "DNS keeps answering acknowledged registrations" || not_ok "DNS did not answer: '$answer'"

kill -9 "$PID"; wait "$PID" 2>/dev/null || true; PID=
start
missing=0
for n in "${acked[@]}"; do
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HTTP/v1/instances/i$n")
    [ "$code" = 200 ] || missing=$((missing + 1))
done
extra=$(curl -s "http://127.0.0.1:$HTTP/v1/services/disk/fill" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["instances"]))')
echo "# after kill -9 and restart: ${#acked[@]} acknowledged, $missing missing, $extra instances in all"
[ "$missing" = 0 ] && [ "$extra" = "${#acked[@]}" ] && ok "every acknowledged registration survived, and nothing refused appeared" \
    || not_ok "acknowledged registrations lost or refused ones appeared"

# Read-only: a directory that cannot be written at start serves what it holds and refuses writes.
kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
mount -o remount,ro "$DATA"
start
status=$(register 9999)
[ "$status" = 503 ] && ok "a read-only data directory answers 503 ($(cat "$WORK/reply"))" || not_ok "read-only gave $status"
answer=$(dig +short @127.0.0.1 -p "$DNS" "i${acked[0]}.fill.disk.local" A || true)
[ "$answer" = 10.0.0.1 ] && ok "DNS keeps answering from a read-only data directory" || not_ok "DNS did not answer on a read-only disk"
health=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HTTP/healthz")
[ "$health" = 503 ] && ok "/healthz reports the read-only store" || not_ok "/healthz gave $health on a read-only disk"
kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
mount -o remount,rw "$DATA"
[ "$failures" -eq 0 ] || { sed 's/^/# /' "$WORK/beacon.log" | tail -20; exit 1; }
