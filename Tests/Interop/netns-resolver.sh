#!/usr/bin/env bash
# Beacon as the system resolver of a host, end to end (issue 6): in a network namespace whose
# /etc/netns/NAME/resolv.conf says `nameserver 127.0.0.1`, Beacon listens on port 53 and forwards
# names it does not serve to an upstream (dnsmasq on loopback). Then `getent ahosts` finds both a
# registered instance and a name only the upstream knows, and `curl` reaches a registered HTTP
# service by its Beacon name. Needs root, iproute2, dnsmasq-base, curl, python3.
# The namespace, its resolv.conf and every process are removed on any exit.
set -euo pipefail
BEACON_BIN=${BEACON_BIN:-.build/release/beacon}
BEACON_BIN=$(realpath "$BEACON_BIN")
NS=beacon-ns-$$
WORK=$(mktemp -d /tmp/beacon-netns.XXXXXX)
PIDS=()
failures=0

cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    ip netns del "$NS" 2>/dev/null || true
    rm -rf "/etc/netns/$NS" "$WORK"
}
trap cleanup EXIT

ok() { echo "ok - $1"; }
not_ok() { echo "not ok - $1"; failures=$((failures + 1)); }
# Background programs are started with `ip netns exec` directly, not through in_ns: `in_ns cmd &`
# forks a subshell, so $! would be the subshell and the cleanup would leave the program running.
in_ns() { ip netns exec "$NS" "$@"; }

ip netns add "$NS"
in_ns ip link set lo up
mkdir -p "/etc/netns/$NS"
echo "nameserver 127.0.0.1" > "/etc/netns/$NS/resolv.conf"
# A namespace shares the host's /etc/hosts; names here must come from DNS.
echo "hosts: files dns" > "/etc/netns/$NS/nsswitch.conf"

# The upstream: dnsmasq knows one name, nothing else.
ip netns exec "$NS" dnsmasq --keep-in-foreground --no-resolv --no-hosts --port 5300 --listen-address 127.0.0.1 --bind-interfaces \
    --address=/only-upstream.example/192.0.2.55 --pid-file="$WORK/dnsmasq.pid" --log-facility=- 2>"$WORK/dnsmasq.log" &
PIDS+=($!)

mkdir -p "$WORK/zones"
ip netns exec "$NS" "$BEACON_BIN" serve --dns 127.0.0.1:53 --http 127.0.0.1:8054 --domain internal. --zones "$WORK/zones" \
    --in-memory --upstream 127.0.0.1:5300 2>"$WORK/beacon.log" &
PIDS+=($!)

# A service to find: an HTTP server on loopback inside the namespace.
mkdir -p "$WORK/site" && echo "hello from create.orders" > "$WORK/site/index.html"
ip netns exec "$NS" python3 -m http.server 8080 --bind 127.0.0.1 --directory "$WORK/site" >/dev/null 2>&1 &
PIDS+=($!)

for _ in $(seq 1 50); do
    in_ns curl -s -o /dev/null http://127.0.0.1:8054/healthz && in_ns curl -s -o /dev/null http://127.0.0.1:8080/ && break
    sleep 0.1
done

in_ns curl -s -XPOST http://127.0.0.1:8054/v1/register \
    -d '{"service":"orders","function":"create","address":"127.0.0.1","port":8080,"ttl":60}' > "$WORK/register.json"
echo "# registered: $(cat "$WORK/register.json")"

out=$(in_ns getent ahosts create.orders.internal || true)
echo "# getent ahosts create.orders.internal:"; echo "$out" | sed 's/^/#   /'
if echo "$out" | grep -q "^127.0.0.1 "; then ok "getent finds a registered instance through Beacon"; else not_ok "getent did not find create.orders.internal"; fi

out=$(in_ns getent ahosts only-upstream.example || true)
echo "# getent ahosts only-upstream.example:"; echo "$out" | sed 's/^/#   /'
if echo "$out" | grep -q "^192.0.2.55 "; then ok "getent finds a name only the upstream knows (forwarded)"; else not_ok "getent did not resolve only-upstream.example"; fi

out=$(in_ns curl -s --max-time 5 http://create.orders.internal:8080/ || true)
echo "# curl http://create.orders.internal:8080/ -> $out"
if [ "$out" = "hello from create.orders" ]; then ok "curl reaches the registered service by its Beacon name"; else not_ok "curl by name failed"; fi

out=$(in_ns getent ahosts nothing.orders.internal || true)
if [ -z "$out" ]; then ok "an unregistered name does not resolve"; else not_ok "nothing.orders.internal resolved: $out"; fi

if [ "$failures" -ne 0 ]; then
    echo "# beacon log:"; sed 's/^/#   /' "$WORK/beacon.log"
    exit 1
fi
echo "# all namespace checks passed"
