#!/usr/bin/env bash
# Rolling restart demo: two instances of a tiny HTTP service, each under `beacon sidecar`, restarted one
# after the other while a client resolves them through Beacon's DNS (caching each answer for its TTL)
# and calls them non-stop. With the sidecar's deregister-first, drain-then-stop shutdown the client
# should see zero failed calls. Prints the counts; exits 1 if any call failed.
#
#   Tests/ServerTests/Fixtures/rolling-restart.sh            # ~60 s, TTL 5 s
#   DURATION=90 TTL=10 Tests/ServerTests/Fixtures/rolling-restart.sh
#   DRAIN_MAX=0 Tests/ServerTests/Fixtures/rolling-restart.sh   # the control: no drain, calls fail
#
# Needs python3 and the beacon binary (built with `swift build` if missing; BEACON=path overrides).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
BEACON=${BEACON:-$ROOT/.build/debug/beacon}
DURATION=${DURATION:-60}
TTL=${TTL:-5}
DRAIN_MAX=${DRAIN_MAX:-15}
WORK=$(mktemp -d /tmp/beacon-rolling.XXXXXX)
PIDS=()

[ -x "$BEACON" ] || (cd "$ROOT" && swift build --product beacon >/dev/null)

log() { printf '%s %s\n' "$(date -u +%H:%M:%S.%3N)" "$*"; }

# Kill every process this script started, by pid: the sidecars' children first (their pids are in the
# sidecar logs), then the sidecars, the client and Beacon.
cleanup() {
    for file in "$WORK"/sidecar*.log; do
        [ -f "$file" ] || continue
        for pid in $(sed -n 's/.*(pid \([0-9]*\)).*/\1/p' "$file"); do kill -9 "$pid" 2>/dev/null || true; done
    done
    for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
HTTP_PORT=$(free_port); DNS_PORT=$(free_port); PORT1=$(free_port); PORT2=$(free_port)
SERVER=http://127.0.0.1:$HTTP_PORT

"$BEACON" serve --in-memory --http 127.0.0.1:$HTTP_PORT --dns 127.0.0.1:$DNS_PORT --zones "$ROOT/zones" \
    2>"$WORK/beacon.log" &
PIDS+=($!)
for _ in $(seq 100); do curl -fs "$SERVER/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

SIDECAR1=""; SIDECAR2=""
start_instance() { # N PORT
    "$BEACON" sidecar --server "$SERVER" --service demo --function hello --id "inst-$1" --address 127.0.0.1 \
        --port "$2" --ttl "$TTL" --interval 1 --drain-max "$DRAIN_MAX" --check "http://127.0.0.1:$2/health" \
        -- python3 "$HERE/health_server.py" --port "$2" --name "inst-$1" 2>>"$WORK/sidecar$1.log" &
    PIDS+=($!)
    eval "SIDECAR$1=$!"
}

live_instances() { "$BEACON" ls demo --server "$SERVER" 2>/dev/null | tail -n +2 | wc -l; }

wait_for_instances() { # COUNT
    for _ in $(seq 200); do [ "$(live_instances)" -ge "$1" ] && return 0; sleep 0.1; done
    log "timed out waiting for $1 instances"; return 1
}

restart_instance() { # N PORT
    local pid
    eval "pid=\$SIDECAR$1"
    log "restarting inst-$1: SIGTERM to its sidecar (pid $pid)"
    kill -TERM "$pid"
    wait "$pid" || true
    log "inst-$1 sidecar exited: $(grep -o 'drain [0-9.]* s' "$WORK/sidecar$1.log" | tail -1)"
    start_instance "$1" "$2"
    wait_for_instances 2
    log "inst-$1 is back"
}

start_instance 1 "$PORT1"
start_instance 2 "$PORT2"
wait_for_instances 2
log "beacon on $SERVER, dns 127.0.0.1:$DNS_PORT; inst-1 :$PORT1, inst-2 :$PORT2 (TTL $TTL s)"

python3 "$HERE/rolling_client.py" --dns "127.0.0.1:$DNS_PORT" --name hello.demo.local --duration "$DURATION" \
    >"$WORK/client.out" &
CLIENT=$!
PIDS+=($CLIENT)

PHASE=$((DURATION / 4))
sleep "$PHASE"
restart_instance 1 "$PORT1"
sleep "$PHASE"
restart_instance 2 "$PORT2"

STATUS=0
wait "$CLIENT" || STATUS=$?
log "client finished"
cat "$WORK/client.out"
echo "--- sidecar logs ---"
cat "$WORK/sidecar1.log" "$WORK/sidecar2.log" | sort -s -k1,1
exit $STATUS
