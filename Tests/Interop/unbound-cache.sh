#!/usr/bin/env bash
# Beacon behind a real caching resolver: Unbound (Debian `unbound`) on loopback, with a stub-zone
# for `local.` pointing at Beacon, cache-min-ttl 0 and no DNSSEC validation. Checks the contract's
# promise that "no cache that honours the TTL ever serves an instance past its lease":
#
#   (a) an instance registered with ttl=4 and never heartbeated is not returned by Unbound after
#       register time + 4 s (polled every 150 ms until 3 s past that);
#   (b) after a DELETE that returned drain=D, Unbound stops returning the instance within D s;
#   (c) an instance heartbeated every second keeps resolving through the cache, with no gap;
#   (d) the drain covers SRV clients: after a DELETE, a client that follows the SRV answer Unbound
#       still has cached (as Prometheus and HAProxy do) always finds an address for the target while
#       the instance serves (through the drain), and after the drain the target is gone.
#
#   BEACON_BIN=.build/release/beacon Tests/Interop/unbound-cache.sh
#
# Builds nothing; runs Unbound in the foreground from a config generated in a temp folder (no
# systemd, no /etc/unbound). Prints ok / not ok lines; exits non-zero if any check fails.
set -uo pipefail

# shellcheck source=Tests/Interop/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_tools unbound unbound-checkconf dig curl python3
setup_common unbound-cache 58

mkdir -p "$WORKDIR/zones"
cp "$REPO_ROOT/zones/local.zone" "$WORKDIR/zones/"
start_beacon "$WORKDIR/zones" --log-level warning

# ---------------------------------------------------------------------------------------------
# Unbound

UNBOUND_PORT=$(free_port)
cat >"$WORKDIR/unbound.conf" <<EOF
server:
    interface: 127.0.0.1
    port: $UNBOUND_PORT
    do-ip4: yes
    do-ip6: no
    do-udp: yes
    do-tcp: yes
    access-control: 127.0.0.0/8 allow
    do-daemonize: no
    use-systemd: no
    username: ""
    chroot: ""
    directory: "$WORKDIR"
    pidfile: ""
    use-syslog: no
    logfile: ""
    verbosity: 1
    log-servfail: yes
    num-threads: 1
    so-reuseport: no
    # Beacon's TTLs are taken as they come: no floor that would keep records past their lease.
    cache-min-ttl: 0
    serve-expired: no
    prefetch: no
    # The stub is on loopback; the zone is not signed and nothing validates.
    do-not-query-localhost: no
    domain-insecure: "local"
    module-config: "iterator"
    qname-minimisation: no
    # No trust anchor, no root hints fetched: only the stub below is ever asked.
    auto-trust-anchor-file: ""
    trust-anchor-file: ""
    # Unbound's built-in blocking of special-use names must not apply to local.
    local-zone: "local." nodefault

remote-control:
    control-enable: no

stub-zone:
    name: "local."
    stub-addr: 127.0.0.1@$BEACON_DNS_PORT
    stub-prime: no
EOF

if ! checkconf=$(unbound-checkconf "$WORKDIR/unbound.conf" 2>&1); then
    not_ok "the generated unbound.conf passes unbound-checkconf" "$checkconf"
    exit 1
fi
unbound -d -c "$WORKDIR/unbound.conf" >"$WORKDIR/unbound.log" 2>&1 &
UNBOUND_PID=$!
EXTRA_PIDS+=("$UNBOUND_PID")
for ((i = 0; i < 50; i++)); do
    if ! kill -0 "$UNBOUND_PID" 2>/dev/null; then
        not_ok "unbound starts" "exited: $(tail -5 "$WORKDIR/unbound.log")"
        exit 1
    fi
    if [[ $(dig -p "$UNBOUND_PORT" @127.0.0.1 +tries=1 +timeout=1 +short local. SOA 2>/dev/null) == ns.local.* ]]; then
        break
    fi
    sleep 0.1
done
if ((i == 50)); then
    not_ok "unbound answers for local. through the stub" "no SOA after 5 s; log: $(tail -5 "$WORKDIR/unbound.log")"
    exit 1
fi
note "$(unbound -V 2>&1 | head -1) pid $UNBOUND_PID on 127.0.0.1:$UNBOUND_PORT, stub local. -> 127.0.0.1:$BEACON_DNS_PORT"
ok "unbound resolves local. SOA through the stub-zone to Beacon"

# resolve NAME: the addresses Unbound gives for NAME A, each as ADDRESS/TTL, space-separated
# (empty when none).
resolve() {
    dig -p "$UNBOUND_PORT" @127.0.0.1 +tries=1 +timeout=1 +noall +answer "$1" A 2>/dev/null \
        | awk '$4 == "A" { print $5 "/" $2 }' | xargs
}

# poll NAME ADDRESS UNTIL-MS LOG: queries Unbound about every 150 ms (100 ms apart, plus the
# query) until UNTIL-MS; appends "send-ms receive-ms hit|miss answer" lines to LOG.
poll() {
    local name=$1 address=$2 until=$3 log=$4 sent received answer
    while (($(now_ms) < until)); do
        sent=$(now_ms)
        answer=$(resolve "$name")
        received=$(now_ms)
        if [[ " $answer " == *" $address/"* ]]; then
            echo "$sent $received hit $answer" >>"$log"
        else
            echo "$sent $received miss ${answer:--}" >>"$log"
        fi
        sleep 0.1
    done
}

# ---------------------------------------------------------------------------------------------
# (a) A lease that ends without a heartbeat

lease_expiry() {
    local log=$WORKDIR/poll-a.log reply t_registered deadline
    : >"$log"
    reply=$(register '{"service":"orders","function":"expire","id":"short-1","address":"10.9.0.4","port":8080,"ttl":4}') \
        || { not_ok "(a) register an instance with ttl=4" "$reply"; return; }
    # The lease cannot end later than the moment the register call returned + 4 s.
    t_registered=$(now_ms)
    deadline=$((t_registered + 4000))
    poll expire.orders.local 10.9.0.4 $((deadline + 3000)) "$log"
    local hits late first_hit last_hit last_sent
    hits=$(awk '$3 == "hit"' "$log" | wc -l)
    first_hit=$(awk '$3 == "hit" { print $2; exit }' "$log")
    last_hit=$(awk '$3 == "hit" { t = $2 } END { print t }' "$log")
    last_sent=$(awk '$3 == "hit" { t = $1 } END { print t }' "$log")
    # A hit is late when even the query's send time is past the deadline: the reply was made
    # between send and receive, and in the lease's last second Beacon answers with TTL 0, which
    # Unbound passes on uncached, so a reply received a few ms after the deadline to a query sent
    # before it is an answer in flight, not a cache serving a dead instance.
    late=$(awk -v d="$deadline" '$3 == "hit" && $1 > d' "$log" | wc -l)
    note "(a) $(wc -l <"$log") polls, $hits answered with the instance; first at $((first_hit - t_registered)) ms after registering, last one asked at $(rel "$last_sent" "$deadline") and received at $(rel "$last_hit" "$deadline") relative to the lease end"
    note "(a) the last answers from Unbound, relative to the lease end: $(last_hits "$log" "$deadline" 4)"
    if ((hits == 0)); then
        not_ok "(a) the ttl=4 instance resolves through Unbound while its lease runs" "no poll returned it: $(head -3 "$log" | tr '\n' '|')"
    else
        ok "(a) the ttl=4 instance resolves through Unbound while its lease runs ($hits answers)"
    fi
    if ((late == 0)); then
        ok "(a) Unbound never returned the instance after register time + ttl (last answer asked at $(rel "$last_sent" "$deadline"), received at $(rel "$last_hit" "$deadline") relative to the lease end)"
    else
        not_ok "(a) Unbound never returned the instance after register time + ttl" \
            "$late answers to queries sent after the lease end, the last received at $(rel "$last_hit" "$deadline"); log: $(awk -v d="$deadline" '$3 == "hit" && $1 > d { printf "%+dms %s; ", $1 - d, $4 }' "$log")"
    fi
}

# last_hits LOG REF N: the last N answers that held the instance, as "receive time relative to
# REF: address/TTL".
last_hits() {
    awk -v ref="$2" '$3 == "hit" { line[n++] = sprintf("%+dms %s", $2 - ref, $4) }
        END { for (i = (n > '"$3"' ? n - '"$3"' : 0); i < n; i++) printf "%s%s", line[i], (i < n - 1 ? ", " : "") }' "$1"
}

# rel T REF: T - REF as "+1234 ms" / "-567 ms".
rel() {
    [[ -n $1 ]] || { echo "n/a"; return; }
    printf '%+d ms' $(($1 - $2))
}

# ---------------------------------------------------------------------------------------------
# (b) Deregistration: gone from the cache within the drain time Beacon announced

deregister_drain() {
    local log=$WORKDIR/poll-b.log reply answer t_deleted drain drain_ms until
    : >"$log"
    reply=$(register '{"service":"orders","function":"drain","id":"drain-1","address":"10.9.0.5","port":8080,"ttl":8}') \
        || { not_ok "(b) register an instance with ttl=8" "$reply"; return; }
    sleep 1
    # Through Unbound, so that the cache holds it (TTL about 6 s).
    answer=$(resolve drain.orders.local)
    if [[ $answer != 10.9.0.5/* ]]; then
        not_ok "(b) the instance is cached by Unbound before the DELETE" "answer '$answer'"
        return
    fi
    reply=$(deregister drain-1) || { not_ok "(b) DELETE /v1/instances/drain-1" "$reply"; return; }
    t_deleted=$(now_ms)
    drain=$(json_field "$reply" drain)
    drain_ms=$(awk -v d="$drain" 'BEGIN { printf "%d", d * 1000 + 0.5 }')
    ok "(b) DELETE answered $reply"
    until=$((t_deleted + drain_ms + 1500))
    poll drain.orders.local 10.9.0.5 "$until" "$log"
    local hits late last_hit last_sent deadline=$((t_deleted + drain_ms))
    hits=$(awk '$3 == "hit"' "$log" | wc -l)
    last_hit=$(awk '$3 == "hit" { t = $2 } END { print t }' "$log")
    last_sent=$(awk '$3 == "hit" { t = $1 } END { print t }' "$log")
    late=$(awk -v d="$deadline" '$3 == "hit" && $1 > d' "$log" | wc -l)
    note "(b) $(wc -l <"$log") polls after the DELETE, $hits still answered from the cache; last at $(rel "$last_hit" "$t_deleted") after the DELETE, drain was ${drain}s"
    note "(b) the last answers from Unbound, relative to DELETE + drain: $(last_hits "$log" "$deadline" 3)"
    if ((late == 0)); then
        ok "(b) Unbound stopped returning the instance within drain=${drain}s of the DELETE (last answer asked at $(rel "$last_sent" "$deadline"), received at $(rel "$last_hit" "$deadline") relative to DELETE + drain)"
    else
        not_ok "(b) Unbound stopped returning the instance within drain=${drain}s of the DELETE" \
            "$late answers to queries sent after DELETE + drain, the last received at $(rel "$last_hit" "$deadline") relative to it"
    fi
    # Beacon itself forgets it at once.
    answer=$(dig -p "$BEACON_DNS_PORT" @127.0.0.1 +tries=1 +timeout=1 +short drain.orders.local A 2>&1)
    if [[ -z $answer ]]; then
        ok "(b) Beacon itself no longer answers for the deregistered instance"
    else
        not_ok "(b) Beacon itself no longer answers for the deregistered instance" "answer $answer"
    fi
}

# ---------------------------------------------------------------------------------------------
# (c) A heartbeated instance keeps resolving through the cache

heartbeated() {
    local log=$WORKDIR/poll-c.log hb_log=$WORKDIR/heartbeats.log reply start until
    : >"$log"
    : >"$hb_log"
    reply=$(register '{"service":"orders","function":"alive","id":"alive-1","address":"10.9.0.6","port":8080,"ttl":4}') \
        || { not_ok "(c) register an instance with ttl=4" "$reply"; return; }
    start=$(now_ms)
    until=$((start + 9000))
    # Heartbeats every second (a quarter of the lease) in the background, stopped by PID below
    # (and by the EXIT trap if the script dies first).
    (
        # shellcheck disable=SC2031  # sleeper is this subshell's own
        trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
        while (($(now_ms) < until)); do
            sleep 1 &
            sleeper=$!
            wait "$sleeper"
            if heartbeat alive-1 >/dev/null; then echo "$(now_ms) 200" >>"$hb_log"; else echo "$(now_ms) failed" >>"$hb_log"; fi
        done
    ) &
    local heartbeat_pid=$!
    EXTRA_PIDS+=("$heartbeat_pid")
    poll alive.orders.local 10.9.0.6 "$until" "$log"
    stop_pid "$heartbeat_pid" 3
    local polls misses beats failed_beats
    polls=$(wc -l <"$log")
    misses=$(awk '$3 == "miss"' "$log" | wc -l)
    beats=$(grep -c ' 200$' "$hb_log")
    failed_beats=$(grep -c failed "$hb_log")
    note "(c) $beats heartbeats ($failed_beats failed), $polls polls over 9 s (more than twice the 4 s lease), $misses without the instance"
    if ((failed_beats > 0)); then
        not_ok "(c) every heartbeat was accepted" "$failed_beats failed"
    fi
    if ((misses == 0 && polls > 20)); then
        ok "(c) a heartbeated ttl=4 instance kept resolving through Unbound for 9 s ($polls polls, no gap)"
    else
        not_ok "(c) a heartbeated ttl=4 instance kept resolving through Unbound for 9 s" \
            "$misses of $polls polls missed it: $(awk -v s="$start" '$3 == "miss" { printf "+%dms %s; ", $1 - s, $4 }' "$log" | head -c 600)"
    fi
}

# ---------------------------------------------------------------------------------------------
# (d) The drain seen by an SRV-following client through the cache

srv_drain() {
    local log=$WORKDIR/poll-d.log reply answer t_deleted drain drain_ms until sent target address
    : >"$log"
    for instance in 'srv-1","address":"10.9.0.7","ttl":10' 'srv-2","address":"10.9.0.8","ttl":60'; do
        reply=$(register '{"service":"orders","function":"pool","id":"'"$instance"',"port":8080}') \
            || { not_ok "(d) register two instances of orders/pool" "$reply"; return; }
    done
    sleep 1
    answer=$(dig -p "$UNBOUND_PORT" @127.0.0.1 +tries=1 +timeout=1 +short _pool._tcp.orders.local SRV 2>/dev/null)
    if [[ $answer != *srv-1.pool.orders.local.* ]]; then
        not_ok "(d) Unbound caches the SRV answer before the DELETE" "answer '$answer'"
        return
    fi
    reply=$(deregister srv-1) || { not_ok "(d) DELETE /v1/instances/srv-1" "$reply"; return; }
    t_deleted=$(now_ms)
    drain=$(json_field "$reply" drain)
    drain_ms=$(awk -v d="$drain" 'BEGIN { printf "%d", d * 1000 }')
    until=$((t_deleted + drain_ms))
    # The client: SRV through Unbound, then each target's address through Unbound.
    while (($(now_ms) < until)); do
        sent=$(now_ms)
        for target in $(dig -p "$UNBOUND_PORT" @127.0.0.1 +tries=1 +timeout=1 +short _pool._tcp.orders.local SRV \
            2>/dev/null | awk '{ print $4 }'); do
            address=$(dig -p "$UNBOUND_PORT" @127.0.0.1 +tries=1 +timeout=1 +short "$target" A 2>/dev/null | head -1)
            echo "$((sent - t_deleted)) $target ${address:-none}" >>"$log"
        done
        sleep 0.1
    done
    local lookups cached_target without_address
    lookups=$(wc -l <"$log")
    cached_target=$(awk '$2 ~ /^srv-1\./' "$log" | wc -l)
    without_address=$(awk '$3 == "none"' "$log" | wc -l)
    note "(d) drain ${drain}s: $lookups target lookups through Unbound during it, $cached_target of the deregistered srv-1 (from the cached SRV answer)"
    if ((cached_target == 0)); then
        not_ok "(d) the cached SRV answer still named srv-1 during the drain" "no lookup of srv-1: $(head -3 "$log" | tr '\n' '|')"
    fi
    if ((without_address == 0 && lookups > 5)); then
        ok "(d) 0 of $lookups lookups of a cached SRV target found no address while the instance served"
    else
        not_ok "(d) every cached SRV target resolves to an address while the instance serves" \
            "$without_address of $lookups lookups found none: $(awk '$3 == "none"' "$log" | head -3 | tr '\n' '|')"
    fi
    # After the drain (and Unbound's whole second), the target is gone from the cache and from Beacon.
    sleep 1.5
    answer=$(dig -p "$UNBOUND_PORT" @127.0.0.1 +tries=1 +timeout=1 +short _pool._tcp.orders.local SRV 2>/dev/null)
    local status
    status=$(dig -p "$BEACON_DNS_PORT" @127.0.0.1 +tries=1 +timeout=1 srv-1.pool.orders.local A 2>/dev/null \
        | awk '/status:/ { sub(",", "", $6); print $6 }')
    if [[ $answer != *srv-1.* && $answer == *srv-2.* && $status == NXDOMAIN ]]; then
        ok "(d) after the drain srv-1 is gone from the SRV answer and its name is NXDOMAIN"
    else
        not_ok "(d) after the drain srv-1 is gone" "SRV '$answer', srv-1 A status $status"
    fi
}

lease_expiry
deregister_drain
heartbeated
srv_drain

if ! kill -0 "$UNBOUND_PID" 2>/dev/null; then
    not_ok "unbound kept running" "$(tail -5 "$WORKDIR/unbound.log")"
fi
if grep -qiE 'error|fatal' "$WORKDIR/unbound.log"; then
    note "unbound log: $(grep -iE 'error|fatal' "$WORKDIR/unbound.log" | head -5 | tr '\n' '|')"
fi
stop_beacon_checked
finish
