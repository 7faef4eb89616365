import Primitives
import DNSWire

/// Builds a record from one line of presentation format, for readable expectations in tables:
/// `rr("www.example. 60 A 192.0.2.1")`, `rr("_sip._tcp.example. 60 SRV 0 5 5060 sip.example.")`.
///
/// Owner name, TTL, an optional class (`IN` by default), the type and its RDATA. Names must be
/// absolute (a missing final dot is taken as absolute). Types: A, AAAA, NS, CNAME, PTR, MX, SRV, SOA
/// and TXT (double-quoted strings, `\"` and `\\` escapes). A bad line traps: it is a bug in the test.
package func rr(_ text: String) -> ResourceRecord {
    let fields = splitPresentation(text)
    precondition(fields.count >= 3, "rr: too few fields in \(text)")
    let owner = dnsName(fields[0])
    guard let ttl = UInt32(fields[1]) else { preconditionFailure("rr: bad TTL in \(text)") }
    var index = 2
    var rrClass = RRClass.in
    if fields[index].uppercased() == "IN" || fields[index].uppercased() == "CH" {
        rrClass = fields[index].uppercased() == "IN" ? .in : .ch
        index += 1
    }
    guard let type = RRType(mnemonic: fields[index]) else { preconditionFailure("rr: bad type in \(text)") }
    let data = Array(fields[(index + 1)...])
    func number<T: FixedWidthInteger>(_ at: Int) -> T {
        guard at < data.count, let value = T(data[at]) else { preconditionFailure("rr: bad number in \(text)") }
        return value
    }
    let rdata: RData
    switch type {
    case .a: rdata = .a(IPv4Address(data[0])!)
    case .aaaa: rdata = .aaaa(IPv6Address(data[0])!)
    case .ns: rdata = .ns(dnsName(data[0]))
    case .cname: rdata = .cname(dnsName(data[0]))
    case .ptr: rdata = .ptr(dnsName(data[0]))
    case .mx: rdata = .mx(preference: number(0), exchange: dnsName(data[1]))
    case .srv: rdata = .srv(SRV(priority: number(0), weight: number(1), port: number(2), target: dnsName(data[3])))
    case .soa:
        rdata = .soa(
            SOA(
                mname: dnsName(data[0]), rname: dnsName(data[1]), serial: number(2), refresh: number(3),
                retry: number(4), expire: number(5), minimum: number(6)))
    case .txt: rdata = .txt(data.map { Array($0.utf8) })
    default: preconditionFailure("rr: type \(type) not supported in \(text)")
    }
    return ResourceRecord(name: owner, type: type, rrClass: rrClass, ttl: ttl, rdata: rdata)
}

/// A domain name from presentation text; traps on a bad name (a bug in the test).
package func dnsName(_ text: String) -> DomainName {
    do {
        return try DomainName(text)
    } catch {
        preconditionFailure("dnsName: \(text): \(error)")
    }
}

/// Splits on blanks, keeping double-quoted strings (without their quotes) as single fields.
private func splitPresentation(_ text: String) -> [String] {
    var fields: [String] = []
    var current: [UInt8] = []
    var quoted = false
    var inField = false
    var bytes = Array(text.utf8).makeIterator()
    while let byte = bytes.next() {
        if quoted {
            switch byte {
            case UInt8(ascii: "\\"): if let next = bytes.next() { current.append(next) }
            case UInt8(ascii: "\""): quoted = false
            default: current.append(byte)
            }
        } else if byte == UInt8(ascii: "\"") {
            quoted = true
            inField = true
        } else if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") {
            if inField { fields.append(String(decoding: current, as: UTF8.self)) }
            current = []
            inField = false
        } else {
            current.append(byte)
            inField = true
        }
    }
    if inField { fields.append(String(decoding: current, as: UTF8.self)) }
    return fields
}
