#!/usr/bin/env bash
# HAProxy interop: HAProxy (Debian's `haproxy`) finds its backends in Beacon through a `resolvers`
# section and `server-template` on the RFC 2782 SRV name, configured as the README recipe says.
#
#   BEACON_BIN=.build/release/beacon Tests/Interop/haproxy.sh
#
# Builds nothing. Starts Beacon (--udp-max-payload 8192) and HAProxy on free loopback ports, stops
# both by PID, and checks:
#   - every registered instance is discovered, with its port, also 40 at once (the answer only fits
#     a UDP reply with accepted_payload_size and --udp-max-payload raised: HAProxy 2.6 does not retry
#     a truncated UDP answer over TCP);
#   - a new instance is picked up, a deregistered one (and the last one of a function) is removed
#     within the drain Beacon returned;
#   - SRV weights are honoured as HAProxy scales them: it divides by 256, rounding up, so Beacon's
#     default weight 1 and anything up to 256 become 1, 768 becomes 3, and 0 stays 0 (never chosen);
#   - a rolling restart through HAProxy: two python3 http.server instances, each under
#     `beacon sidecar`, restarted in turn (SIGTERM to the sidecar) while a client sends requests
#     through HAProxy without pause: 0 failed requests. The control run, with `--drain-max 0`, must
#     show failures, or the check above proves nothing.
#
# Prints `ok - ...` / `not ok - ...: details` per check; exits non-zero if any check fails.
# KEEP_WORKDIR=1 keeps the temp folder (configuration and logs).
set -uo pipefail

# shellcheck source=Tests/Interop/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_tools haproxy dig curl python3
setup_common haproxy 240

# The sidecars first (a second SIGTERM ends a drain early; their children by the PIDs they logged),
# then lib.sh's cleanup stops HAProxy, the web servers and Beacon.
SIDECAR_PIDS=()
stop_sidecars() {
    local pid log child
    for pid in "${SIDECAR_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null && sleep 0.2 && kill -TERM "$pid" 2>/dev/null
    done
    for pid in "${SIDECAR_PIDS[@]}"; do stop_pid "$pid" 3; done
    for log in "$WORKDIR"/sidecar-*.log; do
        [[ -f $log ]] || continue
        for child in $(sed -n 's/.*started .*(pid \([0-9]*\)).*/\1/p' "$log"); do kill -KILL "$child" 2>/dev/null; done
    done
    SIDECAR_PIDS=()
}
trap 'status=$?; stop_sidecars; (exit $status); cleanup' EXIT

# Every helper process is a python3 http.server; /usr/bin/python3 starts faster than a pyenv shim.
PYTHON=$(command -v /usr/bin/python3 || command -v python3)
mkdir -p "$WORKDIR/www" "$WORKDIR/zones"
echo ok >"$WORKDIR/www/index.html"
cp "$REPO_ROOT/zones/local.zone" "$WORKDIR/zones/"

start_beacon "$WORKDIR/zones" --udp-max-payload 8192 --log-level warning
note "haproxy: $(haproxy -v | head -1)"

# ---------------------------------------------------------------------------------------------
# HAProxy, configured as the README recipe says

HAPROXY_ADMIN_PORT=$(free_port)
HAPROXY_PID=
declare -A FRONTEND_PORT
for name in api weights front control; do FRONTEND_PORT[$name]=$(free_port); done

# backend NAME SRV-NAME SLOTS [SERVER OPTIONS...]: a frontend on FRONTEND_PORT[NAME] (the fleet has
# none) and a backend whose servers come from SRV-NAME. Each response says which server answered.
backend() {
    local name=$1 srv=$2 slots=$3
    shift 3
    if [[ -n ${FRONTEND_PORT[$name]:-} ]]; then
        printf 'frontend fe_%s\n    bind 127.0.0.1:%s\n    default_backend %s\n\n' "$name" "${FRONTEND_PORT[$name]}" "$name"
    fi
    printf 'backend %s\n    balance roundrobin\n    http-response set-header X-Served-By %%s\n' "$name"
    # init-addr none: start without addresses and wait for DNS. allow-dup-ip: every instance here
    # listens on 127.0.0.1 (on its own port), which HAProxy would otherwise refuse to reuse.
    printf '    server-template %s %s %s resolvers beacon init-addr none resolve-opts allow-dup-ip %s\n\n' \
        "$name" "$slots" "$srv" "$*"
}

{
    cat <<EOF
global
    stats socket ipv4@127.0.0.1:$HAPROXY_ADMIN_PORT level admin
    log stderr format short local0 info

defaults
    mode http
    log global
    timeout connect 1s
    timeout client 10s
    timeout server 10s

# The recipe of the README ("HAProxy"), with what each line does for Beacon.
resolvers beacon
    nameserver beacon 127.0.0.1:$BEACON_DNS_PORT
    # 40 SRV records and their glue need about 2.7 KB; HAProxy 2.6 treats a truncated UDP answer as
    # an error instead of asking again over TCP. Beacon runs with --udp-max-payload 8192 to match.
    accepted_payload_size 8192
    # HAProxy ignores DNS TTLs: it asks again every "timeout resolve". This bounds how long a new
    # instance waits for traffic and how long a removed one keeps getting it.
    timeout resolve 1s
    timeout retry 1s
    resolve_retries 3
    # An SRV record gone from the answer (a deregistered instance) is dropped at once; with the
    # default 0s this line only makes it explicit. Anything near the drain would hand traffic to an
    # instance that is stopping.
    hold obsolete 0s
    # NXDOMAIN (the last instance of a function deregistered) or another error: drop the servers
    # after 2 s, not the default 30 s that outlasted the drain.
    hold nx 2s
    hold other 2s
    # Beacon unreachable: keep the servers last seen for 30 s (the default), rather than none.
    hold refused 30s
    hold timeout 30s

EOF
    backend api _api._tcp.shop.local 10
    backend fleet _member._tcp.fleet.local 50
    backend weights _weights._tcp.shop.local 8
    backend front _front._tcp.shop.local 4 check inter 1s
    backend control _control._tcp.shop.local 4 check inter 1s
} >"$WORKDIR/haproxy.cfg"

if output=$(haproxy -c -f "$WORKDIR/haproxy.cfg" 2>&1); then
    ok "haproxy -c accepts the configuration (resolvers, server-template on SRV names)"
else
    not_ok "haproxy -c accepts the configuration" "$(tr '\n' '|' <<<"$output")"
    finish
    exit 1
fi
haproxy -f "$WORKDIR/haproxy.cfg" -db >"$WORKDIR/haproxy.log" 2>&1 &
HAPROXY_PID=$!
EXTRA_PIDS+=("$HAPROXY_PID")

# haproxy_command COMMAND: one command on the admin socket (HAProxy closes it after the reply).
haproxy_command() {
    local fd
    exec {fd}<>"/dev/tcp/127.0.0.1/$HAPROXY_ADMIN_PORT" || return 1
    printf '%s\n' "$1" >&"$fd"
    timeout 2 cat <&"$fd"
    exec {fd}>&-
}

# servers BACKEND: the servers HAProxy took from DNS, one per line: "fqdn port weight state", state
# UP or DOWN (health check). Slots without an address (maintenance by resolution, flag 0x20 of
# srv_admin_state) are left out.
servers() {
    haproxy_command "show servers state $1" | awk '
        NF > 20 && $1 ~ /^[0-9]+$/ && $18 != "-" && int($7 / 32) % 2 == 0 {
            print $18, $19, $8, ($6 == 2 ? "UP" : "DOWN")
        }' | sort
}

# wait_for SECONDS COMMAND...: polls every 0.1 s until COMMAND succeeds; prints the seconds it took.
wait_for() {
    local limit=$1 start now
    shift
    start=$(now_ms)
    while true; do
        if "$@"; then
            now=$(now_ms)
            printf '%d.%03d\n' $(((now - start) / 1000)) $(((now - start) % 1000))
            return 0
        fi
        now=$(now_ms)
        ((now - start < limit * 1000)) || return 1
        sleep 0.1
    done
}

for ((i = 0; i < 50; i++)); do haproxy_command "show info" >/dev/null 2>&1 && break; sleep 0.1; done
if ! kill -0 "$HAPROXY_PID" 2>/dev/null; then
    not_ok "haproxy starts" "$(tail -5 "$WORKDIR/haproxy.log" | tr '\n' '|')"
    exit 1
fi
note "haproxy pid $HAPROXY_PID, admin socket 127.0.0.1:$HAPROXY_ADMIN_PORT"

# register_instance SERVICE FUNCTION ID PORT [WEIGHT] [TTL]
register_instance() {
    register "{\"service\":\"$1\",\"function\":\"$2\",\"id\":\"$3\",\"address\":\"127.0.0.1\",\"port\":$4,\"weight\":${5:-1},\"ttl\":${6:-60}}" >/dev/null
}

# ---------------------------------------------------------------------------------------------
# Discovery, a new instance, removals

has_servers() { # BACKEND EXPECTED-LINES: the servers are exactly these (fqdn port), sorted
    [[ $(servers "$1" | awk '{ print $1, $2 }') == "$2" ]]
}

for id in 1 2 3; do register_instance shop api "api-$id" "700$id" 1 20; done
want=$(printf 'api-%s.api.shop.local 700%s\n' 1 1 2 2 3 3 | sort)
if took=$(wait_for 10 has_servers api "$want"); then
    ok "three registered instances discovered by HAProxy with their SRV ports (${took} s)"
else
    not_ok "three registered instances discovered" "HAProxy has [$(servers api | tr '\n' '|')], expected [$(tr '\n' '|' <<<"$want")]"
fi

register_instance shop api api-4 7004 1 20
want=$(printf 'api-%s.api.shop.local 700%s\n' 1 1 2 2 3 3 4 4 | sort)
if took=$(wait_for 10 has_servers api "$want"); then
    ok "a new instance is picked up (${took} s after its registration; timeout resolve 1s)"
else
    not_ok "a new instance is picked up" "HAProxy has [$(servers api | tr '\n' '|')] 10 s later"
fi

# deregistered_within_drain ID EXPECTED-AFTER DESCRIPTION: DELETE, then the time until HAProxy's
# servers are EXPECTED-AFTER, which must come before the drain Beacon returned has passed.
deregistered_within_drain() {
    local id=$1 want=$2 description=$3 reply drain took
    reply=$(deregister "$id") || { not_ok "$description" "DELETE $id failed"; return; }
    drain=$(json_field "$reply" drain)
    if took=$(wait_for 30 has_servers api "$want"); then
        if awk -v took="$took" -v drain="$drain" 'BEGIN { exit !(took < drain) }'; then
            ok "$description: gone from HAProxy ${took} s after DELETE, within its drain of ${drain} s"
        else
            not_ok "$description" "gone from HAProxy ${took} s after DELETE, after its drain of ${drain} s"
        fi
    else
        not_ok "$description" "still in HAProxy 30 s after DELETE (drain ${drain} s): [$(servers api | tr '\n' '|')]"
    fi
}
deregistered_within_drain api-2 "$(printf 'api-%s.api.shop.local 700%s\n' 1 1 3 3 4 4 | sort)" \
    "a deregistered instance is removed within its drain (hold obsolete 0s)"
deregister api-1 >/dev/null
deregister api-3 >/dev/null
wait_for 10 has_servers api "api-4.api.shop.local 7004" >/dev/null
deregistered_within_drain api-4 "" \
    "the last instance of a function is removed within its drain (its SRV name turns NXDOMAIN; hold nx 2s)"

# 40 instances: too big for 1232 bytes, whole at 8192.
fleet_size_at() { # BUFSIZE: "TC" or the SRV record count of the UDP answer
    local out
    out=$(dig -p "$BEACON_DNS_PORT" @127.0.0.1 +tries=1 +timeout=2 +ignore +bufsize="$1" +noall +comments +answer \
        _member._tcp.fleet.local SRV)
    if grep -qE '^;; flags:.* tc' <<<"$out"; then echo TC; else grep -cE '^_member.*[[:space:]]SRV[[:space:]]' <<<"$out"; fi
}
FLEET_OK=1
for i in $(seq 1 40); do register_instance fleet member "m-$i" $((20000 + i)) 1 60 || FLEET_OK=0; done
at_1232=$(fleet_size_at 1232)
at_8192=$(fleet_size_at 8192)
check "40 instances: the UDP answer is truncated at EDNS 1232 and whole at 8192 (--udp-max-payload 8192)" \
    "$([[ $FLEET_OK == 1 && $at_1232 == TC && $at_8192 == 40 ]]; echo $?)" \
    "registered: $FLEET_OK; at 1232: $at_1232; at 8192: $at_8192 SRV records"
fleet_complete() { [[ $(servers fleet | wc -l) -eq 40 ]]; }
if took=$(wait_for 15 fleet_complete); then
    ok "all 40 instances discovered (accepted_payload_size 8192; ${took} s)"
else
    not_ok "all 40 instances discovered" "HAProxy has $(servers fleet | wc -l) of 40"
fi

# ---------------------------------------------------------------------------------------------
# Weights: HAProxy takes (SRV weight + 255) / 256.

# start_web PORT: a python3 http.server on 127.0.0.1:PORT, stopped by PID at the end.
start_web() {
    "$PYTHON" -m http.server "$1" --bind 127.0.0.1 --directory "$WORKDIR/www" >/dev/null 2>&1 &
    EXTRA_PIDS+=($!)
}
web_ready() { curl -sf -m 1 -o /dev/null "http://127.0.0.1:$1/"; }

declare -A WEIGHT_PORT
for weight in 1 256 768 0; do
    WEIGHT_PORT[$weight]=$(free_port)
    start_web "${WEIGHT_PORT[$weight]}"
done
for weight in 1 256 768 0; do
    wait_for 10 web_ready "${WEIGHT_PORT[$weight]}" >/dev/null
    register_instance shop weights "w$weight" "${WEIGHT_PORT[$weight]}" "$weight" 60
done
weights_seen() { [[ $(servers weights | awk '{ print $1, $3 }') == "$1" ]]; }
want_weights=$'w0.weights.shop.local 0\nw1.weights.shop.local 1\nw256.weights.shop.local 1\nw768.weights.shop.local 3'
if took=$(wait_for 10 weights_seen "$want_weights"); then
    ok "SRV weights 1, 256, 768, 0 become HAProxy weights 1, 1, 3, 0 (divided by 256, rounded up)"
else
    not_ok "SRV weights scaled by 1/256" "HAProxy has [$(servers weights | tr '\n' '|')], expected [$(tr '\n' '|' <<<"$want_weights")]"
fi
# 50 requests through HAProxy's round robin over weights 1 + 1 + 3 (+ 0): 10, 10 and 30, none to w0.
distribution=$("$PYTHON" - "${FRONTEND_PORT[weights]}" <<'PYTHON'
import collections, http.client, sys
counts = collections.Counter()
for _ in range(50):
    connection = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=5)
    connection.request("GET", "/")
    response = connection.getresponse()
    response.read()
    counts[response.getheader("X-Served-By") if response.status == 200 else f"status {response.status}"] += 1
    connection.close()
print(" ".join(f"{name}={count}" for name, count in sorted(counts.items())))
PYTHON
)
# Server names are the template's slots (weights1...); map them to instances through the state.
slot_of() { haproxy_command "show servers state weights" | awk -v fqdn="$1" '$18 == fqdn { print $4 }'; }
expected_distribution="$(slot_of w1.weights.shop.local)=10 $(slot_of w256.weights.shop.local)=10 $(slot_of w768.weights.shop.local)=30"
expected_distribution=$(tr ' ' '\n' <<<"$expected_distribution" | sort | xargs)
check "50 requests through HAProxy: 10, 10 and 30 to the weights 1, 256 and 768, none to weight 0" \
    "$([[ $distribution == "$expected_distribution" ]]; echo $?)" "got [$distribution], expected [$expected_distribution]"

# ---------------------------------------------------------------------------------------------
# Rolling restart through HAProxy

# start_sidecar FUNCTION N PORT [SIDECAR FLAGS...]: instance FUNCTION-N, a python3 http.server on
# PORT under `beacon sidecar` (lease 5 s, so a drain lasts at most about 5 s).
declare -A SIDECAR_OF
start_sidecar() {
    local function=$1 n=$2 port=$3
    shift 3
    "$BEACON_BIN" sidecar --server "$BEACON_URL" --service shop --function "$function" --id "$function-$n" \
        --address 127.0.0.1 --port "$port" --ttl 5 --interval 1 --check "http://127.0.0.1:$port/" "$@" \
        -- sh -c "exec '$PYTHON' -m http.server $port --bind 127.0.0.1 --directory '$WORKDIR/www' >/dev/null 2>&1" \
        2>>"$WORKDIR/sidecar-$function-$n.log" &
    SIDECAR_PIDS+=($!)
    SIDECAR_OF[$function-$n]=$!
}

serving() { # BACKEND FQDN...: each of these is UP in HAProxy
    local backend=$1 fqdn state
    shift
    state=$(servers "$backend")
    for fqdn in "$@"; do grep -q "^$fqdn .* UP$" <<<"$state" || return 1; done
}

# restart FUNCTION N PORT [SIDECAR FLAGS...]: SIGTERM to the sidecar, wait for it to exit (the drain,
# then the server's stop), start it again, wait until HAProxy sends it traffic again.
restart() {
    local function=$1 n=$2 port=$3 pid i
    shift 3
    pid=${SIDECAR_OF[$function-$n]}
    kill -TERM "$pid"
    for ((i = 0; i < 400; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    wait "$pid" 2>/dev/null
    note "$function-$n: $(grep -o 'deregistered .*' "$WORKDIR/sidecar-$function-$n.log" | tail -1); restarting"
    start_sidecar "$function" "$n" "$port" "$@"
    wait_for 20 serving "$function" "$function-$n.$function.shop.local" >/dev/null \
        || note "$function-$n not back in HAProxy after 20 s"
}

# rolling_restart FUNCTION [SIDECAR FLAGS...]: two instances, a client sending requests through
# HAProxy without pause from before the first restart to after the second. Sets ROLLING_SUMMARY to
# the client's summary ("requests N failed N ..."). Not in a subshell: it starts processes.
ROLLING_SUMMARY=
rolling_restart() {
    local function=$1 port1 port2 client
    shift
    port1=$(free_port)
    port2=$(free_port)
    start_sidecar "$function" 1 "$port1" "$@"
    start_sidecar "$function" 2 "$port2" "$@"
    if ! wait_for 20 serving "$function" "$function-1.$function.shop.local" "$function-2.$function.shop.local" >/dev/null; then
        ROLLING_SUMMARY="requests 0 failed 0 (the two instances never came up in HAProxy: $(servers "$function" | xargs))"
        return
    fi
    rm -f "$WORKDIR/stop-client"
    "$PYTHON" - "${FRONTEND_PORT[$function]}" "$WORKDIR/stop-client" >"$WORKDIR/client-$function.out" <<'PYTHON' &
import collections, http.client, os, sys, threading, time
port, stop_file = int(sys.argv[1]), sys.argv[2]
lock = threading.Lock()
counts = collections.Counter()
failures = []
def client():
    while not os.path.exists(stop_file):
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request("GET", "/")
            response = connection.getresponse()
            response.read()
            connection.close()
            outcome = "ok" if response.status == 200 else f"HTTP {response.status}"
        except Exception as error:
            outcome = type(error).__name__
        with lock:
            counts[outcome] += 1
            if outcome != "ok":
                failures.append(f"{time.strftime('%H:%M:%S')} {outcome}")
threads = [threading.Thread(target=client) for _ in range(4)]
for thread in threads: thread.start()
for thread in threads: thread.join()
failed = sum(count for outcome, count in counts.items() if outcome != "ok")
print(f"requests {sum(counts.values())} failed {failed} " + " ".join(f"{k}={v}" for k, v in sorted(counts.items()))
      + ("; first failures: " + ", ".join(failures[:5]) if failures else ""))
PYTHON
    client=$!
    EXTRA_PIDS+=("$client")
    sleep 2
    restart "$function" 1 "$port1" "$@"
    sleep 1
    restart "$function" 2 "$port2" "$@"
    sleep 2
    touch "$WORKDIR/stop-client"
    wait "$client"
    ROLLING_SUMMARY=$(cat "$WORKDIR/client-$function.out")
}

rolling_restart front
summary=$ROLLING_SUMMARY
note "rolling restart with the drain: $summary"
failed=$(sed -n 's/^requests [0-9]* failed \([0-9]*\).*/\1/p' <<<"$summary")
total=$(sed -n 's/^requests \([0-9]*\).*/\1/p' <<<"$summary")
check "rolling restart through HAProxy, sidecars draining: 0 failed requests ($summary)" \
    "$([[ ${total:-0} -gt 100 && $failed == 0 ]]; echo $?)" "$summary"

rolling_restart control --drain-max 0
summary=$ROLLING_SUMMARY
note "rolling restart without the drain (--drain-max 0): $summary"
failed=$(sed -n 's/^requests [0-9]* failed \([0-9]*\).*/\1/p' <<<"$summary")
total=$(sed -n 's/^requests \([0-9]*\).*/\1/p' <<<"$summary")
check "control: the same restart with --drain-max 0 fails requests ($summary)" \
    "$([[ ${total:-0} -gt 100 && ${failed:-0} -gt 0 ]]; echo $?)" "$summary"

if grep -qiE 'fatal|panic|crash' "$WORKDIR/beacon.log"; then
    not_ok "beacon logged no fatal error" "$(grep -iE 'fatal|panic|crash' "$WORKDIR/beacon.log" | head -3)"
fi
stop_sidecars
stop_beacon_checked
finish
