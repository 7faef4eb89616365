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

# ---------------------------------------------------------------------------------------------
# Querying and reading replies. Both tools print the same record lines (owner TTL class type
# rdata), so one parser reads both; headers differ slightly (`, ` vs `; `, `flags` vs `Flags`).

TOOLS=(dig kdig)
OUT=     # the whole output of the last query (query and reply, +qr)
REPLY=   # the reply part of it
ID_CHECKED=(0 0)
ID_MISMATCHES=()

# query TOOL ARGS...: runs one query with +qr (so the query's header is printed too), sets OUT
# and REPLY, and records whether the reply's ID equals the query's. Without a reply it sets
# DETAIL and returns 1 (so that a check for something absent cannot pass on silence).
query() {
    local tool=$1
    shift
    case $tool in
        dig) OUT=$(dig -p "$BEACON_DNS_PORT" @127.0.0.1 +tries=1 +timeout=2 +qr "$@" 2>&1) ;;
        kdig) OUT=$(kdig -p "$BEACON_DNS_PORT" @127.0.0.1 +retry=0 +timeout=2 +qr "$@" 2>&1) ;;
    esac
    local ids
    ids=$(sed -n 's/.*->>HEADER<<-.*id: \([0-9]*\).*/\1/p' <<<"$OUT")
    if [[ $(grep -c . <<<"$ids") -lt 2 ]]; then
        # Only the query's own header was printed: no reply (timeout, refused connection...).
        REPLY=
        DETAIL="no reply to $tool $*: $(grep -v 'HEADER' <<<"$OUT" | grep -iE 'timed out|error|refused|failed' | head -2 | tr '\n' ' ')"
        return 1
    fi
    REPLY=$(awk '/->>HEADER<<-/ { buffer = "" } { buffer = buffer $0 "\n" } END { printf "%s", buffer }' <<<"$OUT")
    local index=0
    [[ $tool == kdig ]] && index=1
    ID_CHECKED[index]=$((ID_CHECKED[index] + 1))
    if [[ $(head -1 <<<"$ids") != "$(tail -1 <<<"$ids")" ]]; then
        ID_MISMATCHES+=("$tool $*: sent id $(head -1 <<<"$ids"), reply id $(tail -1 <<<"$ids")")
    fi
}

rcode() { sed -n 's/.*->>HEADER<<-.*status: \([A-Z]*\).*/\1/p' <<<"$REPLY" | tail -1; }
opcode() { sed -n 's/.*->>HEADER<<- opcode: \([A-Z0-9]*\).*/\1/p' <<<"$REPLY" | tail -1; }
flags() { grep -iE '^;; flags:' <<<"$REPLY" | tail -1 | sed -E 's/^;; [Ff]lags:([^;]*);.*/\1/' | xargs; }
has_flag() { [[ " $(flags) " == *" $1 "* ]]; }

# section NAME: the records of one section of the reply, one per line, "owner ttl CLASS TYPE rdata"
# with runs of blanks squeezed to one space.
section() {
    awk -v want=";; $1 SECTION:" '
        $0 == want { inside = 1; next }
        inside && /^[[:space:]]*$/ { inside = 0 }
        inside && !/^;/ { $1 = $1; print }
    ' <<<"$REPLY"
}

# The question as echoed in the reply (dig comments it with ";", kdig with ";; ").
question() {
    awk '/^;; QUESTION SECTION:/ { getline; sub(/^;+ ?/, ""); $1 = $1; print; exit }' <<<"$REPLY"
}

# rdatas SECTION TYPE [OWNER]: sorted rdata of the records of TYPE (and OWNER, case-insensitive).
rdatas() {
    section "$1" | awk -v type="$2" -v owner="${3:-}" '
        $4 == type && (owner == "" || tolower($1) == tolower(owner)) {
            $1 = $2 = $3 = $4 = ""; sub(/^ +/, ""); print
        }' | sort
}

# ttls SECTION TYPE: the TTLs of those records.
ttls() { section "$1" | awk -v type="$2" '$4 == type { print $2 }' | sort -u; }

reply_size() {
    sed -n -e 's/.*MSG SIZE *rcvd: \([0-9]*\).*/\1/p' -e 's/^;; Received \([0-9]*\) B.*/\1/p' <<<"$REPLY" | tail -1
}

# has_opt: the reply carries an OPT record; opt_line: its summary.
opt_line() { grep -E '^; EDNS: version|^;; Version: ' <<<"$REPLY" | tail -1; }

DETAIL=
# t DESCRIPTION COMMAND...: runs a predicate that sets DETAIL when it fails.
t() {
    local description=$1
    shift
    DETAIL=
    if "$@"; then ok "$description"; else not_ok "$description" "${DETAIL:-failed}"; fi
}
# t_bug BUG-ID DESCRIPTION COMMAND...: the same for a check Beacon is known to fail (see lib.sh).
t_bug() {
    local bug=$1 description=$2
    shift 2
    DETAIL=
    "$@"
    known_bug "$bug" "$description" $? "${DETAIL:-failed}"
}

# Shorthands for the predicates below.
fail_with() { DETAIL="$1"; return 1; }
brief() { tr '\n' '|' <<<"$1" | sed 's/|$//'; }

# expect_answer TOOL NAME TYPE RCODE EXPECTED-RDATA (newline-separated, sorted) [EXTRA QUERY ARGS]
# The common check: rcode, AA, and exactly these rdatas of TYPE in the answer.
expect_answer() {
    local tool=$1 name=$2 type=$3 want_rcode=$4 want=$5
    shift 5
    query "$tool" "$name" "$type" "$@" || return 1
    local got_rcode got
    got_rcode=$(rcode)
    got=$(rdatas ANSWER "$type")
    [[ $got_rcode == "$want_rcode" ]] || fail_with "rcode $got_rcode, expected $want_rcode" || return 1
    has_flag aa || fail_with "AA not set (flags: $(flags))" || return 1
    [[ $got == "$(sort <<<"$want")" ]] || fail_with "answer [$(brief "$got")], expected [$(brief "$(sort <<<"$want")")]" || return 1
}

# expect_negative TOOL NAME TYPE RCODE ZONE SOA-TTL: an NXDOMAIN or NODATA reply: AA, empty
# answer, the zone's SOA in authority with TTL min(SOA TTL, MINIMUM).
expect_negative() {
    local tool=$1 name=$2 type=$3 want_rcode=$4 zone=$5 want_ttl=$6
    query "$tool" "$name" "$type" || return 1
    local got_rcode answers soa
    got_rcode=$(rcode)
    answers=$(section ANSWER)
    soa=$(section AUTHORITY | awk '$4 == "SOA"')
    [[ $got_rcode == "$want_rcode" ]] || fail_with "rcode $got_rcode, expected $want_rcode" || return 1
    has_flag aa || fail_with "AA not set (flags: $(flags))" || return 1
    [[ -z $answers ]] || fail_with "answer section not empty: $(brief "$answers")" || return 1
    [[ -n $soa ]] || fail_with "no SOA in authority: $(brief "$(section AUTHORITY)")" || return 1
    [[ $(awk '{ print tolower($1) }' <<<"$soa") == "$zone" ]] \
        || fail_with "authority SOA owner is not $zone: $soa" || return 1
    [[ $(awk '{ print $2 }' <<<"$soa") == "$want_ttl" ]] \
        || fail_with "authority SOA TTL $(awk '{ print $2 }' <<<"$soa"), expected $want_ttl (min of SOA TTL and MINIMUM)" || return 1
}

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
# EDNS, cookies, header echo

edns_opt() {
    local edns=()
    [[ $1 == kdig ]] && edns=(+edns)
    query "$1" www.example.test A "${edns[@]}" || return 1
    local line
    line=$(opt_line)
    [[ -n $line ]] || fail_with "no OPT in the reply" || return 1
    grep -qE 'version: 0|Version: 0' <<<"$line" || fail_with "OPT version not 0: $line" || return 1
    grep -qE 'udp: 1232|UDP size: 1232 B' <<<"$line" || fail_with "payload not 1232: $line"
}
no_opt_without_edns() {
    query "$1" www.example.test A +noedns || return 1
    [[ -z $(opt_line) ]] || fail_with "OPT in the reply: $(opt_line)"
}
badvers() {
    if [[ $1 == dig ]]; then
        # dig retries with version 0 on BADVERS unless told not to.
        query dig www.example.test A +edns=1 +noednsnegotiation || return 1
    else
        query kdig www.example.test A +edns=1 || return 1
    fi
    [[ $(rcode) == BADVERS ]] || fail_with "rcode $(rcode), expected BADVERS" || return 1
    grep -qE 'version: 0|Version: 0' <<<"$(opt_line)" || fail_with "reply OPT is not version 0: $(opt_line)" || return 1
    [[ -z $(section ANSWER) ]] || fail_with "answer present: $(brief "$(section ANSWER)")"
}
cookie() {
    query "$1" www.example.test A +cookie || return 1
    [[ $(rcode) == NOERROR ]] || fail_with "rcode $(rcode)" || return 1
    [[ $(rdatas ANSWER A) == 192.0.2.10 ]] || fail_with "answer $(brief "$(section ANSWER)")" || return 1
    grep -qiE 'BADCOOKIE|FORMERR|malformed|COOKIE:.*\(bad\)|retry with|ERROR' <<<"$OUT" \
        && fail_with "client complained: $(brief "$(grep -iE 'cookie|formerr|malformed|error|warning' <<<"$OUT")")" || return 0
}
case_echo() {
    local name=$1 type=$2
    query dig "$name" "$type" || return 1
    [[ $(rcode) == NOERROR ]] || fail_with "rcode $(rcode)" || return 1
    [[ $(question) == "$name."* ]] || fail_with "question echoed as '$(question)', sent '$name.'" || return 1
    grep -q 'Question section mismatch' <<<"$OUT" && fail_with "dig: question section mismatch" && return 1
    local owner
    owner=$(section ANSWER | awk 'NR == 1 { print $1 }')
    [[ ${owner,,} == "${name,,}." ]] || fail_with "answer owner $owner"
}
id_echo() {
    local before=${#ID_MISMATCHES[@]} index=0
    [[ $1 == kdig ]] && index=1
    query "$1" www.example.test A || return 1
    query "$1" create.orders.local SRV +tcp || return 1
    query "$1" nope.example.test A || return 1
    ((${#ID_MISMATCHES[@]} == before)) || fail_with "$(printf '%s; ' "${ID_MISMATCHES[@]:before}")" || return 1
    ((ID_CHECKED[index] >= 3)) || fail_with "could not read the IDs from $1 +qr output"
}
rd_echo() {
    query "$1" www.example.test A +rec || return 1
    has_flag rd || fail_with "RD sent, not echoed (flags: $(flags))" || return 1
    ! has_flag ra || fail_with "RA set without --upstream (flags: $(flags))" || return 1
    query "$1" www.example.test A +norec || return 1
    ! has_flag rd || fail_with "RD not sent but set in the reply (flags: $(flags))"
}
refused() {
    query "$1" www.example.com A || return 1
    [[ $(rcode) == REFUSED ]] || fail_with "rcode $(rcode), expected REFUSED" || return 1
    ! has_flag aa || fail_with "AA set outside the served zones" || return 1
    [[ -z $(section ANSWER) ]] || fail_with "answer present"
}
notimp() {
    local want=NOTIMP
    if [[ $1 == dig ]]; then
        query dig example.test SOA "+opcode=$2" || return 1
    else
        query kdig example.test -t NOTIFY || return 1 # kdig sends opcode NOTIFY for the NOTIFY "type"
        want=NOTIMPL                          # kdig's name for RCODE 4
    fi
    [[ $(rcode) == "$want" ]] || fail_with "rcode $(rcode) for opcode $(opcode), expected $want" || return 1
    [[ $(opcode) == "${2^^}" ]] || fail_with "opcode $(opcode) in the reply, sent ${2^^}"
}

for tool in "${TOOLS[@]}"; do
    t "[$tool] EDNS query: OPT in the reply, version 0, payload 1232" edns_opt "$tool"
    t "[$tool] query without EDNS: no OPT in the reply" no_opt_without_edns "$tool"
    t "[$tool] EDNS version 1: BADVERS with an OPT of version 0" badvers "$tool"
    t "[$tool] query with a COOKIE option (+cookie): answered normally, no client error" cookie "$tool"
    t "[$tool] the reply ID equals the query ID (UDP, TCP, NXDOMAIN)" id_echo "$tool"
    t "[$tool] RD echoed as sent, RA clear" rd_echo "$tool"
    t "[$tool] REFUSED for www.example.com (outside the served zones), no AA" refused "$tool"
done
t "[dig] 0x20: CrEaTe.OrDeRs.LoCaL A echoed with its case, answered" case_echo CrEaTe.OrDeRs.LoCaL A
t "[dig] 0x20: WwW.eXaMpLe.TeSt AAAA echoed with its case, answered" case_echo WwW.eXaMpLe.TeSt AAAA
skip "[kdig] 0x20 case echo" "kdig lower-cases the query name before sending, so it cannot send mixed case"
t "[dig] NOTIMP for opcode NOTIFY" notimp dig notify
t "[dig] NOTIMP for opcode STATUS" notimp dig status
t "[kdig] NOTIMP for opcode NOTIFY (kdig -t NOTIFY)" notimp kdig notify

# The NOTIMP reply echoes the question and answers OPT when present (contract; RFC 6891 section 7).
# Without them dig warns "EDNS query returned status NOTIMP - retry with '+noedns'" and kdig
# "response doesn't have question section".
notimp_has_opt() {
    query dig example.test SOA +opcode=notify || return 1
    [[ -n $(opt_line) ]] || fail_with "no OPT in the NOTIMP reply to an EDNS query ($(reply_size) bytes; dig: $(grep -o 'WARNING: EDNS query returned.*' <<<"$OUT" | head -1))"
}
notimp_echoes_question() {
    if [[ $1 == dig ]]; then query dig example.test SOA +opcode=notify || return 1; else query kdig example.test -t NOTIFY || return 1; fi
    [[ $(question) == example.test.* ]] || fail_with "no question in the NOTIMP reply ($(reply_size) bytes, header: $(grep -m1 -iE '^;; flags' <<<"$REPLY"))"
}
t "[dig] NOTIMP reply carries an OPT when the query had one (contract: OPT answered when present)" notimp_has_opt
t "[dig] NOTIMP reply echoes the question (contract: the reply echoes the question bytes)" notimp_echoes_question dig
t "[kdig] NOTIMP reply echoes the question" notimp_echoes_question kdig

# ---------------------------------------------------------------------------------------------
# Conformance fixes of issue 15, each against its RFC

# RFC 1034 section 3.6.2 and 4.3.2 step 3a: a CNAME restarts the lookup only when QTYPE does not
# match CNAME, and ANY matches it: ANY at a CNAME is the CNAME alone (Knot agrees), over UDP and TCP.
any_at_cname() {
    local tool=$1
    shift
    query "$tool" chain.example.test ANY "$@" || return 1
    local got
    got=$(section ANSWER | awk '{ print tolower($1), $4, tolower($5) }')
    [[ $(rcode) == NOERROR ]] || fail_with "rcode $(rcode)" || return 1
    has_flag aa || fail_with "AA not set (flags: $(flags))" || return 1
    [[ $got == "chain.example.test. CNAME alias.example.test." ]] \
        || fail_with "answer [$(brief "$got")], expected the CNAME alone"
}

for tool in "${TOOLS[@]}"; do
    t "[$tool] ANY at a CNAME over UDP: the CNAME alone (RFC 1034 4.3.2 step 3a)" any_at_cname "$tool"
    t "[$tool] ANY at a CNAME over TCP: the CNAME alone" any_at_cname "$tool" +tcp
done

# RFC 8945 section 5.2.1: Beacon holds no TSIG keys, so a signed query gets NOTAUTH and an unsigned
# TSIG record (MAC size 0) with error BADKEY, as Knot answers for a key it does not have. kdig
# prints the TSIG error as the status; dig prints the header's NOTAUTH.
TSIG_KEY=hmac-sha256:nokey.example:c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0
tsig_badkey() {
    local tool=$1 want=NOTAUTH
    shift
    [[ $tool == kdig ]] && want=BADKEY
    query "$tool" www.example.test A -y "$TSIG_KEY" "$@" || return 1
    [[ $(rcode) == "$want" ]] || fail_with "status $(rcode), expected $want" || return 1
    ! has_flag aa || fail_with "AA set on an error (flags: $(flags))" || return 1
    [[ -z $(section ANSWER) ]] || fail_with "answered as if unsigned: $(brief "$(section ANSWER)")" || return 1
    local record owner ttl class type algorithm signed fudge mac_size original_id error rest
    record=$(awk '/TSIG PSEUDOSECTION/ { getline; $1 = $1; print; exit }' <<<"$REPLY")
    read -r owner ttl class type algorithm signed fudge mac_size original_id error rest <<<"$record"
    [[ $type == TSIG && ${owner,,} == nokey.example. && $error == BADKEY && $mac_size == 0 ]] \
        || fail_with "TSIG record [$record], expected nokey.example. ... MAC size 0 ... BADKEY"
}
# RFC 8945 section 5.1: a TSIG record anywhere but last in the additional section is FORMERR. Neither
# dig nor kdig sends one, so this query is built by hand: TSIG, then OPT.
tsig_not_last() {
    local reply
    reply=$(python3 - "$BEACON_DNS_PORT" <<'PYTHON'
import socket, struct, sys
def name(text):
    return b"".join(bytes([len(l)]) + l.encode() for l in text.split(".") if l) + b"\0"
rdata = name("hmac-sha256.") + struct.pack(">HIHH", 0, 1700000000, 300, 32) + bytes(32) + struct.pack(">HHH", 0x5151, 0, 0)
tsig = name("nokey.example.") + struct.pack(">HHIH", 250, 255, 0, len(rdata)) + rdata
opt = b"\0" + struct.pack(">HHIH", 41, 1232, 0, 0)
query = struct.pack(">6H", 0x5151, 0x0100, 1, 0, 0, 2) + name("www.example.test.") + struct.pack(">HH", 1, 1) + tsig + opt
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.sendto(query, ("127.0.0.1", int(sys.argv[1])))
reply = s.recv(4096)
flags, qd, an, ns, ar = struct.unpack(">5H", reply[2:12])
print(f"id={struct.unpack('>H', reply[:2])[0]:#06x} rcode={flags & 15} answers={an} additionals={ar}")
PYTHON
    ) || fail_with "no reply: $reply" || return 1
    [[ $reply == "id=0x5151 rcode=1 answers=0 additionals=0" ]] || fail_with "reply $reply, expected FORMERR (rcode 1) and no records"
}

for tool in "${TOOLS[@]}"; do
    t "[$tool] TSIG-signed query, unknown key: NOTAUTH, unsigned TSIG with BADKEY (RFC 8945 5.2.1)" tsig_badkey "$tool"
    t "[$tool] the same over TCP" tsig_badkey "$tool" +tcp
done
t "[python] TSIG not last in the additional section: FORMERR (RFC 8945 5.1)" tsig_not_last

# CD is not copied into replies (CONTRACT; RFC 4035 section 3.1.6 leaves CD to validating
# resolvers; Knot clears it too): not in an answer, and not in a NOTIMP (ISC's opcodeflg test: an
# unknown opcode with RD and CD set gets flags "qr rd").
cd_not_copied() {
    local tool=$1
    query "$tool" www.example.test A +cdflag +rec || return 1
    [[ $(rcode) == NOERROR ]] || fail_with "rcode $(rcode)" || return 1
    ! has_flag cd || fail_with "CD copied into the answer (flags: $(flags))" || return 1
    has_flag rd || fail_with "RD not echoed (flags: $(flags))" || return 1
    [[ $tool == dig ]] || return 0
    query dig example.test SOA +opcode=15 +cdflag +rec +noedns || return 1
    [[ $(rcode) == NOTIMP ]] || fail_with "opcode 15: rcode $(rcode), expected NOTIMP" || return 1
    [[ $(flags) == "qr rd" ]] || fail_with "opcode 15 with rd and cd: reply flags [$(flags)], expected [qr rd]"
}

for tool in "${TOOLS[@]}"; do
    extra=""
    [[ $tool == dig ]] && extra=", nor into NOTIMP for opcode 15 (flags: qr rd)"
    t "[$tool] CD is not copied into the answer$extra" cd_not_copied "$tool"
done

# Over TCP a frame with QR set gets no reply but does not close the connection: the queries after
# it on the same connection are answered (CONTRACT). Neither dig nor kdig sends a response as a
# query, so the frames are built by hand.
tcp_skips_qr_frame() {
    local reply
    reply=$(python3 - "$BEACON_DNS_PORT" <<'PYTHON'
import socket, struct, sys
def frame(id, flags, name):
    q = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".") if l) + b"\0" + struct.pack(">HH", 1, 1)
    m = struct.pack(">6H", id, flags, 1, 0, 0, 0) + q
    return struct.pack(">H", len(m)) + m
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
s.sendall(frame(0x0001, 0x8000, "www.example.test.") + frame(0x0002, 0x0000, "www.example.test.")
          + frame(0x0003, 0x0000, "nope.example.test."))
data, ids = b"", []
try:
    while len(ids) < 2:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
        while len(data) >= 2 and len(data) >= 2 + struct.unpack(">H", data[:2])[0]:
            length = struct.unpack(">H", data[:2])[0]
            message, data = data[2:2 + length], data[2 + length:]
            ids.append(f"{struct.unpack('>H', message[:2])[0]}/rcode{message[3] & 15}")
except socket.timeout:
    pass
print(" ".join(ids) or "none (connection closed)")
PYTHON
    ) || fail_with "client failed: $reply" || return 1
    [[ $reply == "2/rcode0 3/rcode3" ]] || fail_with "replies [$reply], expected [2/rcode0 3/rcode3] (none to the QR=1 frame)"
}
t "[python] TCP: a QR=1 frame is skipped, the two queries after it on the connection are answered" tcp_skips_qr_frame

# A large SRV answer under EDNS 1232 carries as much glue as fits (RFC 2181 section 9: additional
# data that does not fit is left out without TC). update.orders.local has 20 instances web-1 ...
# web-20, names as long as Knot's test zone's create.orders.local: Knot 3.2 fits 16 glue records
# (1222 bytes), Beacon 17 (1231 bytes); before the fix Beacon fitted 14.
GLUE_REGISTERED=1
for i in $(seq 1 20); do
    register "{\"service\":\"orders\",\"function\":\"update\",\"id\":\"web-$i\",\"address\":\"10.0.2.$i\",\"port\":8080,\"ttl\":60}" >/dev/null \
        || GLUE_REGISTERED=0
done
glue_fills() {
    local tool=$1
    [[ $GLUE_REGISTERED == 1 ]] || fail_with "registering the 20 instances failed" || return 1
    query "$tool" update.orders.local SRV +edns=0 +bufsize=1232 +ignore || return 1
    local srv glue size
    srv=$(section ANSWER | awk '$4 == "SRV"' | wc -l)
    glue=$(section ADDITIONAL | awk '$4 == "A"' | wc -l)
    size=$(reply_size)
    ! has_flag tc || fail_with "TC set" || return 1
    ((srv == 20)) || fail_with "$srv SRV records, expected 20" || return 1
    ((size <= 1232)) || fail_with "$size bytes over UDP" || return 1
    ((glue == 17)) || fail_with "$glue glue A records in $size bytes, expected 17 (Knot: 16)"
}
for tool in "${TOOLS[@]}"; do
    t "[$tool] 20-instance SRV under EDNS 1232: 17 glue A records fit (Knot 16, Beacon before 14)" glue_fills "$tool"
done

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
