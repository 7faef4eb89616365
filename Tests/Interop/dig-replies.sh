# Sourced by dns-interop.sh (after lib.sh): runs queries with dig and kdig and reads their replies.
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
