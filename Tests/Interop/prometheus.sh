#!/usr/bin/env bash
# Prometheus interop: Prometheus (Debian's `prometheus`) finds its scrape targets in Beacon through
# `dns_sd_configs` of `type: SRV`, configured as the README recipe says.
#
#   BEACON_BIN=.build/release/beacon Tests/Interop/prometheus.sh
#
# Prometheus takes its name servers only from /etc/resolv.conf and always asks on port 53. So the
# script makes a network namespace whose resolv.conf (/etc/netns/NAME/resolv.conf, which
# `ip netns exec` mounts over /etc/resolv.conf) says `nameserver 127.0.0.1`, and runs in it Beacon on
# 127.0.0.1:53 with `--domain internal.`, Prometheus, and small HTTP targets serving /metrics. Needs
# root (it skips otherwise), iproute2, prometheus, curl, python3. Builds nothing.
#
# Checks:
#   - the instances registered under metrics.app.internal become Prometheus targets
#     (`_metrics._tcp.app.internal` SRV, `refresh_interval: 2s`, `scrape_interval: 1s`), all `up`;
#   - deregistered instances (one, then two at once) leave Prometheus's targets within
#     refresh_interval + their drain (Prometheus also passes discovery changes on every 5 s);
#   - no scrape fails on a DNS lookup while they drain: their targets keep serving, Prometheus keeps
#     scraping them by their SRV target names (`p-N.metrics.app.internal`) until the change reaches
#     its scrape loops, and every one of those scrapes must resolve (the drain keeps ID.F.S answering
#     A), with at least one such scrape, or the drain was not exercised. Watched in the targets API
#     (`lastError` of every target, sampled every 0.2 s from Prometheus's start to the end) and in
#     Prometheus's debug log (`no such host`, or any `lookup ...` error, for the whole run). Failed
#     scrapes that are no lookup error (a 1 s scrape timeout on a busy machine) are printed as notes.
#     The targets speak HTTP/1.0 (like `python3 -m http.server`), so every scrape opens a new
#     connection and resolves the name again: nothing is hidden behind a kept-alive connection.
#
# Against a Beacon whose ID.F.S turns NXDOMAIN at the DELETE (before the drain fix), every scrape of a
# deregistered instance fails with `no such host` until Prometheus drops it. PROMETHEUS_MAX_TTL
# (default 20) is Beacon's --max-ttl, which bounds the drain: with 1, drains shorter than Prometheus
# takes to drop a target show the same failures after the drain ends (see the README).
#
# Prints `ok - ...` / `not ok - ...: details` per check and a summary; exits non-zero if any check
# fails. KEEP_WORKDIR=1 keeps the temp folder (configuration and logs).
set -uo pipefail

# shellcheck source=Tests/Interop/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [[ $(id -u) -ne 0 ]]; then
    skip "Prometheus against Beacon on port 53 in a network namespace" "needs root (ip netns)"
    finish
    exit 0
fi
require_tools prometheus ip curl python3
setup_common prometheus 150

NS=beacon-prom-$$
NS_MADE=0
remove_namespace() {
    [[ $NS_MADE == 1 ]] || return 0
    ip netns del "$NS" 2>/dev/null || true
    rm -rf "/etc/netns/$NS"
    NS_MADE=0
}
# Every process first (lib.sh's cleanup, by PID), then the namespace they ran in.
trap 'status=$?; for pid in "${EXTRA_PIDS[@]}"; do stop_pid "$pid"; done; EXTRA_PIDS=(); stop_pid "$BEACON_PID"; BEACON_PID=; remove_namespace; (exit $status); cleanup' EXIT

# Not for background processes: `in_ns CMD &` forks a subshell, so $! would not be CMD's PID.
# They run as `ip netns exec "$NS" CMD &` (ip execs CMD, so $! is CMD itself, stopped by that PID).
in_ns() { ip netns exec "$NS" "$@"; }

PYTHON=$(command -v /usr/bin/python3 || command -v python3)
REFRESH=2   # dns_sd_configs refresh_interval, seconds
SCRAPE=1    # scrape_interval, seconds
MAX_TTL=${PROMETHEUS_MAX_TTL:-20}
PROM=http://127.0.0.1:9090
BEACON_URL=http://127.0.0.1:8054

ip netns add "$NS" || { not_ok "network namespace $NS created" "ip netns add failed"; finish; exit 1; }
NS_MADE=1
in_ns ip link set lo up
mkdir -p "/etc/netns/$NS"
echo "nameserver 127.0.0.1" >"/etc/netns/$NS/resolv.conf"
# The namespace shares the host's /etc/hosts; the names here must come from DNS.
echo "hosts: files dns" >"/etc/netns/$NS/nsswitch.conf"

# Beacon as the namespace's resolver. --max-ttl bounds the answer TTLs and so the drain (about
# MAX_TTL + 1 s after an answer for the instance went out); leases are long (ttl 600) so that
# nothing expires during the run and only DELETE removes instances.
mkdir -p "$WORKDIR/zones"
ip netns exec "$NS" "$BEACON_BIN" serve --dns 127.0.0.1:53 --http 127.0.0.1:8054 --domain internal. --zones "$WORKDIR/zones" \
    --in-memory --max-ttl "$MAX_TTL" 2>"$WORKDIR/beacon.log" &
BEACON_PID=$!
for ((i = 0; i < 100; i++)); do
    kill -0 "$BEACON_PID" 2>/dev/null || break
    in_ns curl -sf -m 1 -o /dev/null "$BEACON_URL/healthz" && break
    sleep 0.1
done
if ! in_ns curl -sf -m 1 -o /dev/null "$BEACON_URL/healthz"; then
    not_ok "beacon starts on 127.0.0.1:53 in the namespace" "$(tail -5 "$WORKDIR/beacon.log" | tr '\n' '|')"
    finish
    exit 1
fi
note "beacon $BEACON_BIN pid $BEACON_PID in namespace $NS: dns 127.0.0.1:53, http 127.0.0.1:8054, --max-ttl $MAX_TTL"
note "prometheus: $(prometheus --version 2>&1 | head -1)"

# The targets: one python3 process serving /metrics on several ports, HTTP/1.0 (a new connection,
# so a new lookup, per scrape), logging every request as "epoch-ms port".
PORTS=(9101 9102 9103 9104)
ip netns exec "$NS" "$PYTHON" - "$WORKDIR/scrapes.log" "${PORTS[@]}" <<'PYTHON' 2>"$WORKDIR/targets.err" &
import http.server, sys, threading, time
log = open(sys.argv[1], "a", buffering=1)
lock = threading.Lock()
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    def do_GET(self):
        port = self.server.server_address[1]
        with lock:
            log.write(f"{int(time.time() * 1000)} {port}\n")
        body = f"# TYPE beacon_interop_target gauge\nbeacon_interop_target{{port=\"{port}\"}} 1\n".encode()
        self.send_response(200 if self.path == "/metrics" else 404)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
servers = [http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), Handler) for port in sys.argv[2:]]
for server in servers[1:]:
    threading.Thread(target=server.serve_forever, daemon=True).start()
servers[0].serve_forever()
PYTHON
EXTRA_PIDS+=($!)

# register ID PORT: instance ID of metrics.app at 127.0.0.1:PORT.
register_target() {
    in_ns curl -sf -m 5 -XPOST "$BEACON_URL/v1/register" \
        -d "{\"service\":\"app\",\"function\":\"metrics\",\"id\":\"$1\",\"address\":\"127.0.0.1\",\"port\":$2,\"ttl\":600}" >/dev/null
}
# deregister ID: prints the drain in seconds.
deregister_target() {
    local reply
    reply=$(in_ns curl -sf -m 5 -XDELETE "$BEACON_URL/v1/instances/$1") || return 1
    json_field "$reply" drain
}

for ((i = 0; i < 50; i++)); do
    in_ns curl -sf -m 1 -o /dev/null "http://127.0.0.1:${PORTS[3]}/metrics" && break
    sleep 0.1
done
REGISTERED=1
for n in 1 2 3 4; do register_target "p-$n" "${PORTS[n - 1]}" || REGISTERED=0; done
check "four instances registered in Beacon (metrics.app.internal)" "$([[ $REGISTERED == 1 ]]; echo $?)" \
    "POST /v1/register failed; log: $(tail -3 "$WORKDIR/beacon.log" | tr '\n' '|')"
srv=$(in_ns dig +tries=1 +timeout=2 +short _metrics._tcp.app.internal SRV 2>/dev/null | sort | tr '\n' '|')
note "dig _metrics._tcp.app.internal SRV through the namespace's resolv.conf: $srv"

# Prometheus, configured as the README recipe says (with shorter intervals to keep the run short).
cat >"$WORKDIR/prometheus.yml" <<EOF
global:
  scrape_interval: ${SCRAPE}s
  scrape_timeout: ${SCRAPE}s
scrape_configs:
  - job_name: app
    dns_sd_configs:
      - names: [_metrics._tcp.app.internal]
        type: SRV
        refresh_interval: ${REFRESH}s
EOF
if output=$(promtool check config "$WORKDIR/prometheus.yml" 2>&1); then
    ok "promtool check config accepts the dns_sd_configs recipe"
else
    not_ok "promtool check config accepts the dns_sd_configs recipe" "$(tr '\n' '|' <<<"$output")"
fi
ip netns exec "$NS" prometheus --config.file="$WORKDIR/prometheus.yml" --storage.tsdb.path="$WORKDIR/tsdb" \
    --web.listen-address=127.0.0.1:9090 --log.level=debug >"$WORKDIR/prometheus.log" 2>&1 &
PROMETHEUS_PID=$!
EXTRA_PIDS+=("$PROMETHEUS_PID")
for ((i = 0; i < 150; i++)); do
    kill -0 "$PROMETHEUS_PID" 2>/dev/null || break
    in_ns curl -sf -m 1 -o /dev/null "$PROM/-/ready" && break
    sleep 0.1
done
if ! in_ns curl -sf -m 1 -o /dev/null "$PROM/-/ready"; then
    not_ok "prometheus starts" "$(tail -5 "$WORKDIR/prometheus.log" | tr '\n' '|')"
    exit 1
fi
note "prometheus pid $PROMETHEUS_PID, $PROM in the namespace"

# The watcher: samples /api/v1/targets every 0.2 s until the script ends. Each sample replaces
# targets.now ("host:port health lastError" per active target of the job); every target's new
# lastError is appended to errors.log as "epoch-ms host:port lastError".
ip netns exec "$NS" "$PYTHON" - "$PROM" "$WORKDIR" <<'PYTHON' 2>"$WORKDIR/watcher.err" &
import json, os, sys, time, urllib.request
prom, work = sys.argv[1], sys.argv[2]
seen = {}
errors = open(os.path.join(work, "errors.log"), "a", buffering=1)
while True:
    try:
        with urllib.request.urlopen(prom + "/api/v1/targets?state=active", timeout=2) as reply:
            targets = json.load(reply)["data"]["activeTargets"]
    except Exception as error:
        time.sleep(0.2)
        continue
    now = int(time.time() * 1000)
    lines = []
    for target in targets:
        address = target["labels"].get("instance", target["scrapeUrl"])
        error = target.get("lastError", "")
        lines.append(f"{address} {target['health']} {error}".rstrip())
        key = (address, target.get("lastScrape"))
        if error and key not in seen:
            seen[key] = error
            errors.write(f"{now} {address} {error}\n")
    with open(os.path.join(work, "targets.now.tmp"), "w") as out:
        out.write("".join(line + "\n" for line in sorted(lines)))
    os.replace(os.path.join(work, "targets.now.tmp"), os.path.join(work, "targets.now"))
    time.sleep(0.2)
PYTHON
EXTRA_PIDS+=($!)

# A failed DNS lookup in a scrape error or a log line: Go's resolver says `lookup NAME on SERVER: ...`
# (no such host, server misbehaving, i/o timeout, ...) or `lookup NAME: ...`.
LOOKUP_ERROR='no such host|lookup [^ ]+( on [^ ]+)?: |server misbehaving'
targets_now() { cat "$WORKDIR/targets.now" 2>/dev/null; }
# has_targets EXPECTED: the active targets (host:port) are exactly these, space-separated, sorted.
has_targets() { [[ $(targets_now | awk '{ print $1 }' | sort | xargs) == "$1" ]]; }
all_up() { [[ $(targets_now | awk '$2 != "up"' | wc -l) -eq 0 && -s $WORKDIR/targets.now ]]; }
wait_for() { # wait_for SECONDS COMMAND...: polls every 0.1 s; prints the seconds it took.
    local limit=$1 start now
    shift
    start=$(now_ms)
    while true; do
        if "$@"; then
            now=$(now_ms)
            printf '%d.%d\n' $(((now - start) / 1000)) $((((now - start) % 1000) / 100))
            return 0
        fi
        now=$(now_ms)
        ((now - start < limit * 1000)) || return 1
        sleep 0.1
    done
}
target() { echo "p-$1.metrics.app.internal:${PORTS[$1 - 1]}"; }
name_list() { local n; for n in "$@"; do target "$n"; done | sort | xargs; }

# ---------------------------------------------------------------------------------------------
# Discovery

want=$(name_list 1 2 3 4)
if took=$(wait_for 30 has_targets "$want") && took_up=$(wait_for 15 all_up); then
    ok "the four SRV targets appear in Prometheus (${took} s after it was ready) and are scraped up"
else
    not_ok "the four SRV targets appear and are up" "targets: [$(targets_now | tr '\n' '|')], expected [$want]"
fi
note "targets: $(targets_now | tr '\n' '|')"

# ---------------------------------------------------------------------------------------------
# Removal, and no lookup error while instances drain

# scrapes_between PORT FROM-MS TO-MS: how many scrapes the target on PORT served in that window.
scrapes_between() { awk -v port="$1" -v from="$2" -v to="$3" '$2 == port && $1 >= from && $1 <= to' "$WORKDIR/scrapes.log" | wc -l; }

# drain_check DESCRIPTION N...: deregisters the instances p-N at once (their targets keep serving),
# waits until Prometheus has dropped them, then checks that they left within refresh_interval + their
# drain, that Prometheus scraped them during the drain (so their names were resolved), and that none of
# those scrapes failed.
drain_check() {
    local description=$1 n start drain max_drain=0 drains=() took gone now errors failed lookup_failed scrapes=0 remaining
    shift
    # Prometheus works in cycles (a refresh every refresh_interval, changes passed on every 5 s):
    # a random pause puts the DELETE at a different point of them from one run to the next.
    sleep "$((RANDOM % 5)).$((RANDOM % 10))"
    remaining=$(comm -23 <(tr ' ' '\n' <<<"$want") <(name_list "$@" | tr ' ' '\n') | xargs)
    start=$(now_ms)
    for n in "$@"; do
        drain=$(deregister_target "p-$n") || { not_ok "$description" "DELETE p-$n failed"; return; }
        drains+=("p-$n:${drain}s")
        awk -v d="$drain" -v m="$max_drain" 'BEGIN { exit !(d > m) }' && max_drain=$drain
    done
    want=$remaining
    if took=$(wait_for 40 has_targets "$want"); then gone=1; else gone=0; fi
    sleep "$SCRAPE" # a scrape already started when the target was dropped
    now=$(now_ms)
    for n in "$@"; do scrapes=$((scrapes + $(scrapes_between "${PORTS[n - 1]}" "$start" "$now"))); done
    note "DELETE ${*/#/p-}: drain ${drains[*]}; $scrapes scrape(s) of them served after the DELETE; gone from the targets after ${took:-more than 40} s"
    if [[ $gone == 1 ]] && awk -v took="$took" -v bound="$((REFRESH))" -v drain="$max_drain" \
        'BEGIN { exit !(took <= bound + drain) }'; then
        ok "$description: deregistered instances leave the targets within refresh_interval + drain (${took} s; ${REFRESH} s + ${max_drain} s)"
    else
        not_ok "$description: deregistered instances leave the targets within refresh_interval + drain" \
            "took ${took:-more than 40} s, drain $max_drain s; targets: [$(targets_now | tr '\n' '|')]"
    fi
    # The failed scrapes of these targets since the DELETE; those that failed on the lookup.
    errors=$(awk -v from="$start" -v targets=" $(name_list "$@") " \
        '$1 >= from && index(targets, " " $2 " ")' "$WORKDIR/errors.log" 2>/dev/null)
    failed=$(grep -c . <<<"$errors")
    lookup_failed=$(grep -E "$LOOKUP_ERROR" <<<"$errors")
    # The check below means something only if Prometheus did scrape them after the DELETE.
    check "$description: Prometheus went on scraping them after the DELETE ($scrapes served, $failed failed)" \
        "$([[ $((scrapes + failed)) -gt 0 ]]; echo $?)" "no scrape after the DELETE: the drain was not exercised"
    if [[ -z $lookup_failed ]]; then
        ok "$description: no scrape of them failed on a DNS lookup while they drained"
    else
        not_ok "$description: no scrape of them failed on a DNS lookup while they drained" \
            "$(grep -c . <<<"$lookup_failed") failed: $(head -3 <<<"$lookup_failed" | tr '\n' '|')"
    fi
    other_errors
}

# other_errors: notes the failed scrapes that were not lookup errors (a scrape_timeout of 1 s on a busy
# machine, say), once each. They are no DNS matter; a target that stopped answering would show here.
NOTED_ERRORS=0
other_errors() {
    local lines
    lines=$(grep -vE "$LOOKUP_ERROR" "$WORKDIR/errors.log" 2>/dev/null | tail -n +$((NOTED_ERRORS + 1)))
    [[ -n $lines ]] || return 0
    NOTED_ERRORS=$((NOTED_ERRORS + $(grep -c . <<<"$lines")))
    while IFS= read -r line; do note "a scrape failed, not on a lookup: $line"; done <<<"$lines"
}

drain_check "one instance (p-4)" 4
drain_check "two instances at once (p-2, p-3)" 2 3

# The one left is still scraped, and nothing else came back.
if took=$(wait_for 5 has_targets "$(name_list 1)") && wait_for 5 all_up >/dev/null; then
    ok "the instance still registered (p-1) stays the only target, up"
else
    not_ok "the instance still registered (p-1) stays the only target, up" "targets: [$(targets_now | tr '\n' '|')]"
fi

# ---------------------------------------------------------------------------------------------
# The whole run, in Prometheus's own log and in the targets API

lookup_errors=$(grep -E "$LOOKUP_ERROR|Error refreshing DNS targets" "$WORKDIR/prometheus.log")
check "Prometheus's log (debug) holds no DNS lookup error for the whole run (no such host, lookup ..., DNS refresh)" \
    "$([[ -z $lookup_errors ]]; echo $?)" \
    "$(wc -l <<<"$lookup_errors") line(s), first: $(head -2 <<<"$lookup_errors" | cut -c1-300 | tr '\n' '|')"
all_errors=$(grep -E "$LOOKUP_ERROR" "$WORKDIR/errors.log" 2>/dev/null)
check "the targets API showed no lookup error in any target's lastError for the whole run" "$([[ -z $all_errors ]]; echo $?)" \
    "$(grep -c . <<<"$all_errors") error(s), first: $(head -2 <<<"$all_errors" | tr '\n' '|')"
other_errors
if ! kill -0 "$PROMETHEUS_PID" 2>/dev/null; then
    not_ok "prometheus ran through the whole check" "it exited: $(tail -3 "$WORKDIR/prometheus.log" | tr '\n' '|')"
fi

stop_beacon_checked
finish
