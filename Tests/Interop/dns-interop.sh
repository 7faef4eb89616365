#!/usr/bin/env bash
# DNS interop: Beacon's answers as two independent, real DNS clients read them, `dig` (BIND 9,
# bind9-dnsutils) and `kdig` (Knot, knot-dnsutils). Every query check runs with both.
#
#   BEACON_BIN=.build/release/beacon Tests/Interop/dns-interop.sh
#
# Builds nothing. Starts Beacon on free loopback ports with a temp zone folder (zones/local.zone,
# plus Tests/Interop/example.test.zone and two big RRsets generated here), registers a few
# instances over HTTP, and checks: SOA/AA, NS, A, AAAA, TXT escapes (presentation and wire bytes),
# MX, SRV, a CNAME chain, wildcards, NXDOMAIN and NODATA with the SOA and the RFC 2308 TTL,
# empty non-terminals, registered instances (A, AAAA, SRV with glue, RFC 2782 SRV, per-instance
# A/TXT), TC over UDP and the full answer over TCP, EDNS (payload 1232, no OPT without one,
# the client's buffer size, BADVERS), cookies, 0x20 case, ID and RD echo, REFUSED, NOTIMP, the
# conformance fixes of issue 15 (ANY at a CNAME, TSIG BADKEY and FORMERR, CD not copied, a QR=1
# frame over TCP skipped, glue filled under EDNS 1232), and that a registered instance's TTL stays
# below its remaining lease minus one.
#
# Prints `ok - ...` / `not ok - ...: details` per check; exits non-zero if any check fails.
# KEEP_WORKDIR=1 keeps the temp folder (zones, Beacon's log).
set -uo pipefail

# shellcheck source=Tests/Interop/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_tools dig kdig curl python3
setup_common dns-interop 55

# ---------------------------------------------------------------------------------------------
# Zones and server

mkdir -p "$WORKDIR/zones"
cp "$REPO_ROOT/zones/local.zone" "$INTEROP_DIR/example.test.zone" "$WORKDIR/zones/"
{
    echo "; 30 TXT records at one name: about 1.6 KB, more than fits in 512 (or 1232) bytes over UDP."
    for i in $(seq -w 0 29); do
        echo "big             IN  TXT  \"record $i padding padding padding padding\""
    done
    echo "; 40 A records at one name: about 0.7 KB, between 512 and 1232 bytes."
    for i in $(seq 1 40); do
        echo "many            IN  A    198.51.100.$i"
    done
} >>"$WORKDIR/zones/example.test.zone"
# The test data itself must be right before Beacon is judged on it.
if command -v kzonecheck >/dev/null; then
    if output=$(kzonecheck -v -o example.test. "$WORKDIR/zones/example.test.zone" 2>&1); then
        ok "the generated example.test zone (with the big RRsets) is valid for kzonecheck"
    else
        not_ok "the generated example.test zone (with the big RRsets) is valid for kzonecheck" "$(tr '\n' '|' <<<"$output")"
    fi
fi

start_beacon "$WORKDIR/zones" --log-level warning
note "dig: $(dig -v 2>&1); kdig: $(kdig --version 2>&1)"

# Querying and reading replies: query, the section readers, t/t_bug and the expect_* predicates.
# shellcheck source=Tests/Interop/dig-replies.sh
source "$(dirname "${BASH_SOURCE[0]}")/dig-replies.sh"

# ---------------------------------------------------------------------------------------------
# Registrations (over HTTP; the DNS checks below look them up)

REG_OK=1
for body in \
    '{"service":"orders","function":"create","id":"web-1","address":"10.0.0.5","port":8080,"ttl":30,"meta":{"zone":"eu-1","team":"checkout"}}' \
    '{"service":"orders","function":"create","id":"web-2","address":"10.0.0.6","port":8081,"ttl":30,"priority":1,"weight":5}' \
    '{"service":"orders","function":"create","id":"web-3","address":"2001:db8::5","port":8082,"ttl":30}'; do
    reply=$(register "$body") || { REG_OK=0; not_ok "register $body" "HTTP call failed: $reply"; }
done
[[ $REG_OK == 1 ]] && ok "three instances of create.orders registered over HTTP (two IPv4, one IPv6)"

# ---------------------------------------------------------------------------------------------
# Static zone data

SOA_RDATA="ns1.example.test. hostmaster.example.test. 2024010101 7200 3600 1209600 600"

soa_with_aa() {
    expect_answer "$1" example.test SOA NOERROR "$SOA_RDATA" || return 1
    [[ $(ttls ANSWER SOA) == 90 ]] || fail_with "SOA TTL $(ttls ANSWER SOA), expected 90"
}
local_soa() {
    expect_answer "$1" local SOA NOERROR "ns.local. hostmaster.local. 1 3600 600 86400 5"
}
ns_records() {
    expect_answer "$1" example.test NS NOERROR $'ns1.example.test.\nns2.example.test.'
}
a_record() {
    expect_answer "$1" www.example.test A NOERROR "192.0.2.10" || return 1
    [[ $(ttls ANSWER A) == 120 ]] || fail_with "TTL $(ttls ANSWER A), expected the zone's 120"
}
aaaa_record() {
    expect_answer "$1" www.example.test AAAA NOERROR "2001:db8::10"
}
txt_presentation() {
    expect_answer "$1" txt.example.test TXT NOERROR '"hello world" "quote\"backslash\\semicolon;decimalAB" "\255tail"'
}
# The same TXT as RFC 3597 generic bytes: length-prefixed strings, escapes resolved.
TXT_HEX=$(python3 -c '
strings = [b"hello world", b"quote\"backslash\\semicolon;decimalAB", b"\xfftail"]
print("".join(bytes([len(s)]).hex() + s.hex() for s in strings).upper())')
txt_wire_bytes() {
    local generic
    case $1 in dig) generic=+unknownformat ;; kdig) generic=+generic ;; esac
    query "$1" txt.example.test TXT "$generic" || return 1
    local got
    got=$(section ANSWER | awk '{ for (i = 7; i <= NF; i++) printf "%s", $i; print "" }' | tr a-f A-F)
    [[ $got == "$TXT_HEX" ]] || fail_with "RDATA $got, expected $TXT_HEX"
}
mx_records() {
    expect_answer "$1" example.test MX NOERROR $'10 mail.example.test.\n20 mail2.example.net.' || return 1
    [[ $(rdatas ADDITIONAL A mail.example.test.) == 192.0.2.25 ]] \
        || fail_with "no glue A for mail.example.test. in additional: $(brief "$(section ADDITIONAL)")"
}
static_srv() {
    expect_answer "$1" _http._tcp.example.test SRV NOERROR "0 5 80 www.example.test."
}
cname_chain() {
    query "$1" chain.example.test A || return 1
    local got want
    got=$(section ANSWER | awk '{ print tolower($1), $4, $5 }')
    want=$'chain.example.test. CNAME alias.example.test.\nalias.example.test. CNAME www.example.test.\nwww.example.test. A 192.0.2.10'
    [[ $(rcode) == NOERROR ]] || fail_with "rcode $(rcode)" || return 1
    has_flag aa || fail_with "AA not set" || return 1
    [[ $got == "$want" ]] || fail_with "answer [$(brief "$got")], expected, in order, [$(brief "$want")]"
}
cname_query_type() {
    # Asking for the CNAME itself gives the CNAME, not the chain.
    expect_answer "$1" chain.example.test CNAME NOERROR "alias.example.test."
}
wildcard() {
    expect_answer "$1" foo.wild.example.test A NOERROR "192.0.2.99" || return 1
    local owner
    owner=$(section ANSWER | awk '{ print tolower($1) }')
    [[ $owner == foo.wild.example.test. ]] || fail_with "owner $owner, expected the query name (RFC 4592 synthesis)" || return 1
    expect_answer "$1" a.b.wild.example.test TXT NOERROR '"wildcard"' || { DETAIL="two labels deep: $DETAIL"; return 1; }
}
wildcard_nodata() {
    expect_negative "$1" foo.wild.example.test MX NOERROR example.test. 90
}

for tool in "${TOOLS[@]}"; do
    t "[$tool] SOA example.test: NOERROR, AA, the zone's SOA with its TTL 90" soa_with_aa "$tool"
    t "[$tool] SOA local. (the shipped zones/local.zone)" local_soa "$tool"
    t "[$tool] NS example.test: both name servers" ns_records "$tool"
    t "[$tool] A www.example.test with its own TTL 120" a_record "$tool"
    t "[$tool] AAAA www.example.test" aaaa_record "$tool"
    t "[$tool] TXT with escapes (\\\" \\\\ \\; \\DDD, byte 255) in presentation form" txt_presentation "$tool"
    t "[$tool] TXT with escapes: exact wire bytes (RFC 3597 generic form)" txt_wire_bytes "$tool"
    t "[$tool] MX example.test, with the in-zone exchange's A in additional" mx_records "$tool"
    t "[$tool] static SRV _http._tcp.example.test" static_srv "$tool"
    t "[$tool] CNAME chain chain -> alias -> www followed inside the zone, in order" cname_chain "$tool"
    t "[$tool] CNAME query type answers the CNAME alone" cname_query_type "$tool"
    t "[$tool] wildcard *.wild: synthesized A at the query name, and TXT two labels deep" wildcard "$tool"
    t "[$tool] wildcard name with a type it lacks: NODATA" wildcard_nodata "$tool"
done

# ---------------------------------------------------------------------------------------------
# Negative answers

for tool in "${TOOLS[@]}"; do
    t "[$tool] NXDOMAIN nope.example.test: AA, SOA in authority, TTL min(90, 600) = 90" \
        expect_negative "$tool" nope.example.test A NXDOMAIN example.test. 90
    t "[$tool] NXDOMAIN missing.local: SOA in authority, TTL min(60, 5) = 5" \
        expect_negative "$tool" missing.local A NXDOMAIN local. 5
    t "[$tool] NXDOMAIN below an empty non-terminal (nope.orders.local)" \
        expect_negative "$tool" nope.orders.local A NXDOMAIN local. 5
    t "[$tool] NODATA www.example.test MX: NOERROR, empty answer, SOA TTL 90" \
        expect_negative "$tool" www.example.test MX NOERROR example.test. 90
    t "[$tool] NODATA for a registered name with another type (create.orders.local MX)" \
        expect_negative "$tool" create.orders.local MX NOERROR local. 5
    t "[$tool] empty non-terminal orders.local: NOERROR, no data (RFC 8020)" \
        expect_negative "$tool" orders.local A NOERROR local. 5
    t "[$tool] empty non-terminal _tcp.orders.local: NOERROR, no data" \
        expect_negative "$tool" _tcp.orders.local SRV NOERROR local. 5
done

# ---------------------------------------------------------------------------------------------
# Registered instances

SRV_WANT=$'0 1 8080 web-1.create.orders.local.\n0 1 8082 web-3.create.orders.local.\n1 5 8081 web-2.create.orders.local.'
srv_with_glue() {
    expect_answer "$1" "$2" SRV NOERROR "$SRV_WANT" || return 1
    local glue
    glue=$(section ADDITIONAL | awk '$4 == "A" || $4 == "AAAA" { print tolower($1), $4, $5 }' | sort)
    local want=$'web-1.create.orders.local. A 10.0.0.5\nweb-2.create.orders.local. A 10.0.0.6\nweb-3.create.orders.local. AAAA 2001:db8::5'
    [[ $glue == "$want" ]] || fail_with "additional [$(brief "$glue")], expected [$(brief "$want")]" || return 1
    local ttl
    for ttl in $(ttls ANSWER SRV); do
        ((ttl >= 0 && ttl <= 29)) || fail_with "SRV TTL $ttl, expected 0..29 for a 30 s lease" || return 1
    done
}
instance_addresses() {
    expect_answer "$1" create.orders.local A NOERROR $'10.0.0.5\n10.0.0.6' || return 1
    expect_answer "$1" create.orders.local AAAA NOERROR "2001:db8::5" || { DETAIL="AAAA: $DETAIL"; return 1; }
}
instance_name() {
    expect_answer "$1" web-1.create.orders.local A NOERROR "10.0.0.5" || return 1
    expect_answer "$1" web-1.create.orders.local TXT NOERROR $'"team=checkout"\n"zone=eu-1"' || { DETAIL="TXT: $DETAIL"; return 1; }
}

for tool in "${TOOLS[@]}"; do
    t "[$tool] create.orders.local A and AAAA: the registered addresses, AA" instance_addresses "$tool"
    t "[$tool] create.orders.local SRV: one record per instance, targets ID.create.orders.local with A/AAAA glue in additional" \
        srv_with_glue "$tool" create.orders.local
    t "[$tool] _create._tcp.orders.local SRV (RFC 2782 form): the same records and glue" \
        srv_with_glue "$tool" _create._tcp.orders.local
    t "[$tool] web-1.create.orders.local: A, and TXT key=value from meta" instance_name "$tool"
done

# ---------------------------------------------------------------------------------------------
# Truncation and TCP

tc_without_edns() {
    query "$1" "$2" "$3" +noedns +ignore || return 1
    has_flag tc || fail_with "TC not set (flags: $(flags), size $(reply_size))" || return 1
    local size
    size=$(reply_size)
    ((size <= 512)) || fail_with "UDP reply of $size bytes without EDNS (limit 512)" || return 1
    [[ -z $(opt_line) ]] || fail_with "OPT in a reply to a query without one: $(opt_line)"
}
full_over_tcp() {
    query "$1" big.example.test TXT +tcp +noedns || return 1
    local count
    count=$(section ANSWER | awk '$4 == "TXT"' | wc -l)
    [[ $(rcode) == NOERROR ]] || fail_with "rcode $(rcode)" || return 1
    ! has_flag tc || fail_with "TC set over TCP" || return 1
    ((count == 30)) || fail_with "$count TXT records over TCP, expected 30" || return 1
    [[ $(rdatas ANSWER TXT | head -1) == '"record 00 padding padding padding padding"' ]] \
        || fail_with "first record $(rdatas ANSWER TXT | head -1)"
}
edns_fits() {
    query "$1" many.example.test A +edns=0 +bufsize=1232 +ignore || return 1
    local count
    count=$(section ANSWER | awk '$4 == "A"' | wc -l)
    ! has_flag tc || fail_with "TC set for a $(reply_size)-byte answer under a 1232 buffer" || return 1
    ((count == 40)) || fail_with "$count A records, expected 40"
}
edns_small_buffer() {
    query "$1" many.example.test A +edns=0 +bufsize=512 +ignore || return 1
    local size
    size=$(reply_size)
    has_flag tc || fail_with "TC not set; reply of $size bytes to a client that offered 512" || return 1
    ((size <= 512)) || fail_with "reply of $size bytes, client offered 512"
}
edns_too_big() {
    query "$1" big.example.test TXT +edns=0 +bufsize=4096 +ignore || return 1
    local size
    size=$(reply_size)
    has_flag tc || fail_with "TC not set; reply of $size bytes" || return 1
    ((size <= 1232)) || fail_with "UDP reply of $size bytes, above Beacon's own payload 1232"
}
tcp_keepopen() {
    # Two queries on one TCP connection (RFC 7766); kdig reuses it with +keepopen.
    OUT=$(kdig -p "$BEACON_DNS_PORT" @127.0.0.1 +retry=0 +timeout=2 +tcp +keepopen www.example.test A www.example.test AAAA 2>&1)
    local a aaaa
    a=$(grep -cE 'IN[[:space:]]+A[[:space:]]+192\.0\.2\.10' <<<"$OUT")
    aaaa=$(grep -cE 'IN[[:space:]]+AAAA[[:space:]]+2001:db8::10' <<<"$OUT")
    ((a == 1 && aaaa == 1)) || fail_with "answers: A $a, AAAA $aaaa; output: $(brief "$(grep -E 'status|IN' <<<"$OUT")")"
}

for tool in "${TOOLS[@]}"; do
    t "[$tool] UDP without EDNS, 30-TXT RRset (~1.6 KB): TC set, reply <= 512 bytes, no OPT" tc_without_edns "$tool" big.example.test TXT
    t "[$tool] UDP without EDNS, 40-A RRset (~0.7 KB): TC set" tc_without_edns "$tool" many.example.test A
    t "[$tool] TCP: the whole 30-TXT RRset, no TC" full_over_tcp "$tool"
    t "[$tool] UDP with EDNS 1232: the 40-A RRset fits, no TC" edns_fits "$tool"
    t "[$tool] UDP with EDNS buffer 512: the 40-A RRset is truncated to <= 512 bytes" edns_small_buffer "$tool"
    t "[$tool] UDP with EDNS buffer 4096: the 30-TXT RRset is truncated to <= 1232 bytes (Beacon's payload)" edns_too_big "$tool"
done
t "[kdig] two queries on one TCP connection (+keepopen)" tcp_keepopen

# ---------------------------------------------------------------------------------------------
# EDNS, cookies and header echo; the conformance fixes of issue 15, each against its RFC.
# shellcheck source=Tests/Interop/dns-interop-protocol.sh
source "$(dirname "${BASH_SOURCE[0]}")/dns-interop-protocol.sh"

# ---------------------------------------------------------------------------------------------
# Answer TTL versus the remaining lease

# Contract: a dynamic RRset's TTL is the whole seconds until the earliest lease ends, minus one,
# never below 0: max(0, floor(remaining) - 1), so never more than remaining - 1 while a second or
# more is left. Checked against the server's own clock: expires_in read just before the query
# bounds the remaining lease from above, the one read just after bounds it from below, so
#   max(0, floor(after) - 1) <= TTL <= max(0, floor(before) - 1);
# and against ours: the lease ends at the latest when the register call returned + ttl.
lease_ttl() {
    local tool=$1 id=lease-$1 lease=20 reply t_registered i before after ttl t_sent verdict
    reply=$(register "{\"service\":\"orders\",\"function\":\"lease$tool\",\"id\":\"$id\",\"address\":\"10.0.1.1\",\"port\":9000,\"ttl\":$lease}") \
        || fail_with "register failed: $reply" || return 1
    t_registered=$(now_ms)
    local samples=()
    for i in 1 2 3 4 5; do
        before=$(json_field "$(curl -sf -m 2 "$BEACON_URL/v1/instances/$id")" expires_in) \
            || fail_with "GET /v1/instances/$id gave no expires_in" || return 1
        t_sent=$(now_ms)
        query "$tool" "lease$tool.orders.local" A || return 1
        after=$(json_field "$(curl -sf -m 2 "$BEACON_URL/v1/instances/$id")" expires_in) \
            || fail_with "GET /v1/instances/$id gave no expires_in" || return 1
        ttl=$(ttls ANSWER A)
        [[ $ttl =~ ^[0-9]+$ ]] || fail_with "no single A TTL in the answer: $(brief "$(section ANSWER)")" || return 1
        samples+=("ttl $ttl, lease $before..$after s")
        verdict=$(awk -v ttl="$ttl" -v before="$before" -v after="$after" -v left_ms=$((t_registered + lease * 1000 - t_sent)) '
            function bound(r) { r = int(r) - 1; return r < 0 ? 0 : r }
            BEGIN {
                if (ttl > bound(before)) print "above max(0, floor(expires_in before the query) - 1) = " bound(before)
                else if (ttl > bound(left_ms / 1000)) print "above max(0, floor(client-side lease left " left_ms " ms) - 1) = " bound(left_ms / 1000)
                else if (ttl < bound(after)) print "below max(0, floor(expires_in after the query) - 1) = " bound(after)
            }')
        [[ -z $verdict ]] || fail_with "TTL $ttl $verdict; expires_in $before before the query, $after after" || return 1
        sleep 0.3
    done
    note "[$tool] lease TTL samples: $(printf '%s; ' "${samples[@]}")"
}
for tool in "${TOOLS[@]}"; do
    t "[$tool] A TTL of a registered instance = max(0, floor(remaining lease) - 1): never above remaining - 1 (5 samples)" lease_ttl "$tool"
done

# ---------------------------------------------------------------------------------------------

for tool in "${TOOLS[@]}"; do
    index=0
    [[ $tool == kdig ]] && index=1
    if ((ID_CHECKED[index] > 0)); then
        mismatches=$(printf '%s\n' "${ID_MISMATCHES[@]}" | grep -c "^$tool " || true)
        check "[$tool] every reply in this run echoed its query's ID (${ID_CHECKED[index]} replies)" \
            "$([[ $mismatches -eq 0 ]]; echo $?)" "$mismatches mismatches: $(printf '%s; ' "${ID_MISMATCHES[@]}")"
    fi
done

if grep -qiE 'fatal|panic|crash' "$WORKDIR/beacon.log"; then
    not_ok "beacon logged no fatal error" "$(grep -iE 'fatal|panic|crash' "$WORKDIR/beacon.log" | head -3)"
fi
stop_beacon_checked
finish
