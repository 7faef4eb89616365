import Primitives
import DNSWire
import Testing

/// One message and its exact wire form, checked in both directions (STYLE 14a, after hickory's `bin_tests.rs`).
///
/// The bytes were assembled by hand from RFC 1035 §4.1, field by field as annotated, and checked
/// offline against dnspython 2.x: it decodes each to the records shown and re-encodes each to
/// exactly these bytes (same compression choices), so the vectors are not just our own output.
struct GoldenVector: Sendable, CustomTestStringConvertible {
    let label: String
    let message: Message
    let bytes: [UInt8]

    var testDescription: String { label }
}

let www = name("www.example.com.")
let example = name("example.com.")

enum GoldenVectors {
    static let all: [GoldenVector] = [
        GoldenVector(
            label: "query with RD",
            message: Message(header: Header(id: 0xBEEF, flags: 0x0100), questions: [Question(name: example, type: .a)]),
            bytes: hex(
                """
                beef 0100 0001 0000 0000 0000           # ID, RD, QDCOUNT 1
                07 6578616d706c65 03 636f6d 00          # example.com
                0001 0001                               # A IN
                """)),
        GoldenVector(
            label: "every header flag and RCODE 3",
            message: Message(header: Header(id: 0xFFFF, flags: 0x87F3)),
            bytes: hex("ffff 87f3 0000 0000 0000 0000  # QR AA TC RD RA Z AD CD, NXDOMAIN")),
        GoldenVector(
            label: "NOTIFY opcode",
            message: Message(header: Header(id: 1, flags: 0x2400), questions: [Question(name: example, type: .soa)]),
            bytes: hex(
                """
                0001 2400 0001 0000 0000 0000           # opcode 4 (NOTIFY), AA
                07 6578616d706c65 03 636f6d 00 0006 0001
                """)),
        GoldenVector(
            label: "A answer pointing at the question name",
            message: Message(
                header: Header(id: 0x1234, flags: 0x8180), questions: [Question(name: www, type: .a)],
                answers: [ResourceRecord(name: www, type: .a, ttl: 3600, rdata: .a(IPv4Address(192, 0, 2, 1)))]),
            bytes: hex(
                """
                1234 8180 0001 0001 0000 0000           # QR RD RA
                03 777777 07 6578616d706c65 03 636f6d 00 0001 0001   # offset 12: www.example.com A IN
                c00c 0001 0001 00000e10 0004            # pointer to 12, A IN, TTL 3600, RDLENGTH 4
                c0000201                                # 192.0.2.1
                """)),
        GoldenVector(
            label: "AAAA",
            message: Message(
                header: Header(id: 0x1234, flags: 0x8180), questions: [Question(name: www, type: .aaaa)],
                answers: [
                    ResourceRecord(
                        name: www, type: .aaaa, ttl: 300,
                        rdata: .aaaa(IPv6Address(high: 0x2001_0DB8_0000_0000, low: 1)))
                ]),
            bytes: hex(
                """
                1234 8180 0001 0001 0000 0000
                03 777777 07 6578616d706c65 03 636f6d 00 001c 0001
                c00c 001c 0001 0000012c 0010            # AAAA IN, TTL 300, RDLENGTH 16
                20010db8 00000000 00000000 00000001     # 2001:db8::1
                """)),
        GoldenVector(
            label: "NS with RDATA names compressed against the question",
            message: Message(
                header: Header(id: 2, flags: 0x8400), questions: [Question(name: example, type: .ns)],
                answers: [
                    ResourceRecord(name: example, type: .ns, ttl: 86400, rdata: .ns(name("ns1.example.com."))),
                    ResourceRecord(name: example, type: .ns, ttl: 86400, rdata: .ns(name("ns2.example.com."))),
                ]),
            bytes: hex(
                """
                0002 8400 0001 0002 0000 0000           # QR AA
                07 6578616d706c65 03 636f6d 00 0002 0001
                c00c 0002 0001 00015180 0006 03 6e7331 c00c   # ns1 + pointer to example.com at 12
                c00c 0002 0001 00015180 0006 03 6e7332 c00c   # ns2 + pointer to example.com at 12
                """)),
        GoldenVector(
            label: "CNAME pointing at a suffix of the question",
            message: Message(
                header: Header(id: 3, flags: 0x8400), questions: [Question(name: www, type: .cname)],
                answers: [ResourceRecord(name: www, type: .cname, ttl: 3600, rdata: .cname(name("web.example.com.")))]
            ),
            bytes: hex(
                """
                0003 8400 0001 0001 0000 0000
                03 777777 07 6578616d706c65 03 636f6d 00 0005 0001   # example.com starts at 16
                c00c 0005 0001 00000e10 0006 03 776562 c010           # web + pointer to 16
                """)),
        GoldenVector(
            label: "SOA",
            message: Message(
                header: Header(id: 4, flags: 0x8400), questions: [Question(name: example, type: .soa)],
                answers: [
                    ResourceRecord(
                        name: example, type: .soa, ttl: 3600,
                        rdata: .soa(
                            SOA(
                                mname: name("ns1.example.com."), rname: name("hostmaster.example.com."),
                                serial: 2_024_010_101, refresh: 7200, retry: 3600, expire: 1_209_600, minimum: 300)))
                ]),
            bytes: hex(
                """
                0004 8400 0001 0001 0000 0000
                07 6578616d706c65 03 636f6d 00 0006 0001
                c00c 0006 0001 00000e10 0027            # RDLENGTH 39
                03 6e7331 c00c                          # MNAME ns1.example.com
                0a 686f73746d6173746572 c00c            # RNAME hostmaster.example.com
                78a3f175 00001c20 00000e10 00127500 0000012c   # serial refresh retry expire minimum
                """)),
        GoldenVector(
            label: "PTR",
            message: Message(
                header: Header(id: 5, flags: 0x8400),
                questions: [Question(name: name("1.2.0.192.in-addr.arpa."), type: .ptr)],
                answers: [
                    ResourceRecord(
                        name: name("1.2.0.192.in-addr.arpa."), type: .ptr, ttl: 3600,
                        rdata: .ptr(name("host.example.com.")))
                ]),
            bytes: hex(
                """
                0005 8400 0001 0001 0000 0000
                01 31 01 32 01 30 03 313932 07 696e2d61646472 04 61727061 00 000c 0001
                c00c 000c 0001 00000e10 0012
                04 686f7374 07 6578616d706c65 03 636f6d 00   # nothing to point at: written in full
                """)),
        GoldenVector(
            label: "MX",
            message: Message(
                header: Header(id: 6, flags: 0x8400), questions: [Question(name: example, type: .mx)],
                answers: [
                    ResourceRecord(
                        name: example, type: .mx, ttl: 3600,
                        rdata: .mx(preference: 10, exchange: name("mail.example.com.")))
                ]),
            bytes: hex(
                """
                0006 8400 0001 0001 0000 0000
                07 6578616d706c65 03 636f6d 00 000f 0001
                c00c 000f 0001 00000e10 0009 000a 04 6d61696c c00c   # preference 10, mail + pointer
                """)),
        GoldenVector(
            label: "TXT with several strings, an empty one and one of 255 octets",
            message: Message(
                header: Header(id: 7, flags: 0x8400), questions: [Question(name: example, type: .txt)],
                answers: [
                    ResourceRecord(
                        name: example, type: .txt, ttl: 300, rdata: .txt([Array("v=spf1 -all".utf8), []])),
                    ResourceRecord(
                        name: example, type: .txt, ttl: 300, rdata: .txt([[UInt8](repeating: 0x61, count: 255)])),
                ]),
            bytes: hex(
                """
                0007 8400 0001 0002 0000 0000
                07 6578616d706c65 03 636f6d 00 0010 0001
                c00c 0010 0001 0000012c 000d            # RDLENGTH 13
                0b 763d73706631202d616c6c 00            # "v=spf1 -all" ""
                c00c 0010 0001 0000012c 0100 ff         # RDLENGTH 256, one string of 255
                """) + [UInt8](repeating: 0x61, count: 255)),
        GoldenVector(
            label: "SRV with its target written in full",
            message: Message(
                header: Header(id: 8, flags: 0x8400),
                questions: [Question(name: name("_sip._tcp.example.com."), type: .srv)],
                answers: [
                    ResourceRecord(
                        name: name("_sip._tcp.example.com."), type: .srv, ttl: 3600,
                        rdata: .srv(SRV(priority: 10, weight: 60, port: 5060, target: name("sip.example.com."))))
                ]),
            bytes: hex(
                """
                0008 8400 0001 0001 0000 0000
                04 5f736970 04 5f746370 07 6578616d706c65 03 636f6d 00 0021 0001   # example.com at 22
                c00c 0021 0001 00000e10 0017            # RDLENGTH 23
                000a 003c 13c4                          # priority 10, weight 60, port 5060
                03 736970 07 6578616d706c65 03 636f6d 00   # RFC 2782: no pointer to 22
                """)),
        GoldenVector(
            label: "OPT with a DNS COOKIE option and DO",
            message: Message(
                header: Header(id: 9, flags: 0x0100), questions: [Question(name: www, type: .a)],
                additionals: [
                    EDNS(
                        udpPayloadSize: 1232, flags: 0x8000,
                        options: [EDNSOption(code: EDNSOption.cookieCode, data: [1, 2, 3, 4, 5, 6, 7, 8])]
                    ).record
                ]),
            bytes: hex(
                """
                0009 0100 0001 0000 0000 0001
                03 777777 07 6578616d706c65 03 636f6d 00 0001 0001
                00 0029 04d0 00008000 000c              # root, OPT, payload 1232, DO, RDLENGTH 12
                000a 0008 0102030405060708              # COOKIE, 8-octet client cookie
                """)),
        GoldenVector(
            label: "BADVERS split between header and OPT",
            message: Message(
                header: Header(id: 10, flags: 0x8000),
                additionals: [EDNS(udpPayloadSize: 1232, extendedRCodeHigh: 1).record]),
            bytes: hex(
                """
                000a 8000 0000 0000 0000 0001           # RCODE low bits 0
                00 0029 04d0 01000000 0000              # extended RCODE high bits 1: 1 << 4 = 16
                """)),
        GoldenVector(
            label: "unknown type as opaque RDATA",
            message: Message(
                header: Header(id: 11, flags: 0x8400), questions: [Question(name: example, type: RRType(65280))],
                answers: [
                    ResourceRecord(
                        name: example, type: RRType(65280), ttl: 3600, rdata: .unknown([0xDE, 0xAD, 0xBE, 0xEF]))
                ]),
            bytes: hex(
                """
                000b 8400 0001 0001 0000 0000
                07 6578616d706c65 03 636f6d 00 ff00 0001
                c00c ff00 0001 00000e10 0004 deadbeef
                """)),
        GoldenVector(
            label: "pointers to the question, a suffix, and a name inside RDATA",
            message: Message(
                header: Header(id: 12, flags: 0x8400), questions: [Question(name: www, type: .a)],
                answers: [ResourceRecord(name: www, type: .a, ttl: 3600, rdata: .a(IPv4Address(192, 0, 2, 1)))],
                authorities: [
                    ResourceRecord(name: example, type: .ns, ttl: 86400, rdata: .ns(name("ns1.example.com.")))
                ],
                additionals: [
                    ResourceRecord(
                        name: name("ns1.example.com."), type: .a, ttl: 86400, rdata: .a(IPv4Address(192, 0, 2, 53)))
                ]),
            bytes: hex(
                """
                000c 8400 0001 0001 0001 0001
                03 777777 07 6578616d706c65 03 636f6d 00 0001 0001   # www at 12, example.com at 16
                c00c 0001 0001 00000e10 0004 c0000201   # answer owner: pointer to 12
                c010 0002 0001 00015180 0006            # authority owner: pointer to 16
                03 6e7331 c010                          # offset 61: ns1 + pointer to 16
                c03d 0001 0001 00015180 0004 c0000235   # additional owner: pointer into the NS RDATA at 61
                """)),
        GoldenVector(
            label: "RFC 2136 UPDATE deleting an RRset with CLASS ANY and empty RDATA",
            message: Message(
                header: Header(id: 13, flags: 0x2800), questions: [Question(name: example, type: .soa)],
                authorities: [
                    ResourceRecord(name: name("a.example.com."), type: .a, rrClass: .any, ttl: 0, rdata: .unknown([]))
                ]),
            bytes: hex(
                """
                000d 2800 0001 0000 0001 0000           # opcode 5 (UPDATE); zone, 0 prereqs, 1 update
                07 6578616d706c65 03 636f6d 00 0006 0001   # zone section: example.com SOA IN
                01 61 c00c 0001 00ff 00000000 0000      # a.example.com A ANY TTL 0 RDLENGTH 0
                """)),
    ]
}
