# Sourced by dns-interop.sh, with its server, registrations and dig-replies.sh helpers in place:
# EDNS, cookies and header echo, and the conformance fixes of issue 15.

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
