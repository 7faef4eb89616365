import Primitives
import DNSWire
import Leases

/// The packet path for the common queries, writing the response straight into the send buffer with
/// no allocation: static names from `StaticTemplates`, and registration names (`F.S`, `_F._tcp.S`,
/// `ID.F.S` with A, AAAA, SRV, TXT) rendered from the function's entry, with only the ID, the
/// question (echoed as received) and the TTLs computed per query.
///
/// Functions of any size: their answers are rendered once per entry version (`FunctionAnswers`), so
/// a query copies records and patches TTLs, and an answer's size is known before it is written: over
/// UDP one that cannot fit is a TC reply at once; over TCP one past 64 KiB carries as many records as
/// fit, rotated, with TC set (as the full `Responder` does).
///
/// It declines (returns 0) whenever the answer needs more than that: a static node at a
/// registration name, wildcards or delegations in the domain's zone, ANY, an instance's TXT that
/// would need truncation, or anything unusual in the query. The full `Responder` then answers, so
/// the two paths give the same bytes where both apply (a test holds them to that).
package struct FastResponder: Sendable {
    package let templates: StaticTemplates
    let dynamic: DynamicNames
    let apexWire: [UInt8]
    let apexLabels: Int
    /// Names under the domain that exist statically (owners and empty non-terminals), lower-case wire.
    private let staticNames: ByteKeyTable<Bool>
    /// The domain's zone has no wildcard and no delegation, so a registration name's existence is
    /// decided by the table alone.
    private let registrationsDecideExistence: Bool
    private let negativeTTL: UInt32
    /// SOA RDATA of the domain's zone, uncompressed.
    private let soaRData: [UInt8]
    /// The payload size our OPT advertises (`--udp-max-payload`).
    private let advertisedPayload: UInt16

    package init(resolver: Resolver, udpMaxPayload: Int = Int(EDNS.defaultUDPMaxPayload)) {
        advertisedPayload = UInt16(clamping: udpMaxPayload)
        templates = StaticTemplates(resolver: resolver)
        dynamic = resolver.dynamic
        apexWire = resolver.dynamic.apex.wire
        apexLabels = resolver.dynamic.apex.labelCount
        let zone = resolver.zones.zones.first { $0.origin == resolver.dynamic.apex }
        var names = ByteKeyTable<Bool>()
        var simple = zone != nil
        if let zone {
            for owner in zone.nodes.keys {
                names.insert(key: owner.lowercased().wire, type: 0, true)
                if owner.isWildcard { simple = false }
                if owner != zone.origin, zone.nodes[owner]?.rrsets[.ns] != nil { simple = false }
            }
            for name in zone.emptyNonTerminals { names.insert(key: name.lowercased().wire, type: 0, true) }
        }
        staticNames = names
        registrationsDecideExistence = simple
        let soa = zone?.negativeSOA
        negativeTTL = soa?.ttl ?? 0
        var writer = WireWriter(capacity: 128)
        if case .soa(let rdata)? = soa?.rdata {
            writer.writeName(rdata.mname, compress: false)
            writer.writeName(rdata.rname, compress: false)
            for value in [rdata.serial, rdata.refresh, rdata.retry, rdata.expire, rdata.minimum] {
                writer.writeUInt32(value)
            }
        }
        soaRData = writer.bytes
    }

    /// Writes the response to the query in `scratch` (already scanned) into `output`.
    /// - Returns: the response length, or 0 when the full responder must answer instead.
    /// - Parameter transport: over TCP an answer too large for `limit` carries what fits (with TC);
    ///   over UDP it is a TC reply with no records.
    package func respond(
        query: UnsafeRawBufferPointer, scratch: QueryScratch, leases: Registry, now: Instant, rotation: Int,
        limit: Int, transport: Responder.Transport = .udp, output: UnsafeMutableRawBufferPointer
    ) -> Int {
        let type = scratch.type
        guard type != .any else { return 0 }
        let budget = min(limit, output.count) - (scratch.hasEDNS ? 11 : 0)
        guard budget > 0 else { return 0 }
        var out = PacketWriter(UnsafeMutableRawBufferPointer(rebasing: output[0..<budget]))
        if let template = templates.template(name: scratch.nameBytes, type: type.rawValue) {
            writeHeader(&out, scratch: scratch, flags: template.flags, answers: template.answerCount,
                authorities: template.authorityCount, additionals: template.additionalCount)
            out.write(UnsafeRawBufferPointer(rebasing: query[12..<scratch.questionEnd]))
            out.write(template.body)
            return finish(&out, scratch: scratch, output: output)
        }
        guard registrationsDecideExistence, isUnderApex(scratch) else { return 0 }
        let relative = scratch.labelCount - apexLabels
        guard relative == 2 || relative == 3 else { return 0 }
        // A static node here would merge with registrations: the full path handles that.
        guard !isStaticName(scratch) else { return 0 }
        return renderRegistrationName(
            query: query, scratch: scratch, relative: relative, leases: leases, now: now, rotation: rotation,
            transport: transport, out: &out, output: output)
    }

    // MARK: - Pieces

    func answerTTL(_ deadline: Instant, _ now: Instant) -> UInt32 {
        TTLPolicy.answerTTL(earliestDeadline: deadline, now: now, maxTTL: dynamic.maxTTL)
    }

    func isUnderApex(_ scratch: QueryScratch) -> Bool {
        let name = scratch.nameBytes
        guard name.count >= apexWire.count, scratch.labelCount >= apexLabels else { return false }
        let suffix = scratch.suffix(from: scratch.labelCount - apexLabels)
        return apexWire.withUnsafeBytes { suffix.elementsEqual($0) }
    }

    func isStaticName(_ scratch: QueryScratch) -> Bool {
        staticNames.lookup(scratch.nameBytes, type: 0) != nil
    }

    func writeHeader(
        _ out: inout PacketWriter, scratch: QueryScratch, flags: UInt16, answers: UInt16, authorities: UInt16,
        additionals: UInt16
    ) {
        out.write(scratch.id)
        // QR set; opcode (QUERY, so 0) and RD echoed from the query; CD not (see `ResponseWriter`).
        out.write(0x8000 | flags | (scratch.flags & 0x0100))
        out.write(UInt16(1))
        out.write(answers)
        out.write(authorities)
        out.write(additionals)
    }

    /// NXDOMAIN (rcode 3) or NODATA (0): the zone's SOA in the authority section at the negative TTL,
    /// its owner a pointer to the domain's labels at the end of the question.
    func writeNegative(
        query: UnsafeRawBufferPointer, scratch: QueryScratch, rcode: UInt16, out: inout PacketWriter,
        output: UnsafeMutableRawBufferPointer
    ) -> Int {
        var fresh = PacketWriter(out.buffer)
        writeHeader(&fresh, scratch: scratch, flags: 0x0400 | rcode, answers: 0, authorities: 1, additionals: 0)
        fresh.write(UnsafeRawBufferPointer(rebasing: query[12..<scratch.questionEnd]))
        let apexOffset = 12 + scratch.nameLength - apexWire.count
        fresh.write(UInt16(0xC000 | apexOffset))
        fresh.write(RRType.soa.rawValue)
        fresh.write(UInt16(1))
        fresh.write(negativeTTL)
        fresh.write(UInt16(soaRData.count))
        fresh.write(soaRData)
        out = fresh
        return finish(&out, scratch: scratch, output: output)
    }

    /// An A or AAAA record whose owner is a pointer: owner, type, class, TTL, RDLENGTH, address.
    static func addressRecordSize(_ address: IPAddress) -> Int {
        switch address {
        case .v4: 2 + 2 + 2 + 4 + 2 + 4
        case .v6: 2 + 2 + 2 + 4 + 2 + 16
        }
    }

    func writeAddressRecord(_ out: inout PacketWriter, owner: UInt16, _ address: IPAddress, ttl: UInt32) {
        out.write(owner)
        switch address {
        case .v4(let value):
            out.write(RRType.a.rawValue)
            out.write(UInt16(1))
            out.write(ttl)
            out.write(UInt16(4))
            out.write(value.value)
        case .v6(let value):
            out.write(RRType.aaaa.rawValue)
            out.write(UInt16(1))
            out.write(ttl)
            out.write(UInt16(16))
            out.write(UInt32(truncatingIfNeeded: value.high >> 32))
            out.write(UInt32(truncatingIfNeeded: value.high))
            out.write(UInt32(truncatingIfNeeded: value.low >> 32))
            out.write(UInt32(truncatingIfNeeded: value.low))
        }
    }

    func writeTXTRecord(_ out: inout PacketWriter, _ entry: MetaEntry, ttl: UInt32) {
        out.write(UInt16(0xC00C))
        out.write(RRType.txt.rawValue)
        out.write(UInt16(1))
        out.write(ttl)
        var key = entry.key
        var value = entry.value
        key.withUTF8 { keyBytes in
            value.withUTF8 { valueBytes in
                let length = keyBytes.count + 1 + valueBytes.count
                out.write(UInt16(length + 1))
                out.write(UInt8(length))
                out.write(UnsafeRawBufferPointer(keyBytes))
                out.write(UInt8(ascii: "="))
                out.write(UnsafeRawBufferPointer(valueBytes))
            }
        }
    }

    /// Appends OPT when the query had one, and returns the length (0 if anything overflowed).
    func finish(_ out: inout PacketWriter, scratch: QueryScratch, output: UnsafeMutableRawBufferPointer) -> Int {
        guard !out.overflowed else { return 0 }
        var length = out.count
        if scratch.hasEDNS {
            var tail = PacketWriter(UnsafeMutableRawBufferPointer(rebasing: output[length..<min(length + 11, output.count)]))
            tail.write(UInt8(0))
            tail.write(RRType.opt.rawValue)
            tail.write(advertisedPayload)
            tail.write(UInt8(0))  // extended RCODE
            tail.write(UInt8(0))  // version
            tail.write(UInt16(scratch.dnssecOK ? 0x8000 : 0))
            tail.write(UInt16(0))
            guard !tail.overflowed else { return 0 }
            length += 11
            let additionals = UInt16(output[10]) << 8 | UInt16(output[11])
            output[10] = UInt8(truncatingIfNeeded: (additionals + 1) >> 8)
            output[11] = UInt8(truncatingIfNeeded: additionals + 1)
        }
        return length
    }

    func assembleSuffix(_ scratch: QueryScratch, function: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        var writer = PacketWriter(scratch.assembled)
        writer.write(UInt8(function.count))
        writer.write(function)
        writer.write(scratch.suffix(from: 2))
        return UnsafeRawBufferPointer(rebasing: scratch.assembled[0..<writer.count])
    }

    static func labelString(_ bytes: UnsafeRawBufferPointer) -> String? {
        guard !bytes.isEmpty else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func equals(_ text: String, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var text = text
        return text.withUTF8 { $0.count == bytes.count && UnsafeRawBufferPointer($0).elementsEqual(bytes) }
    }
}

/// Visits `count` positions starting at `start` and wrapping: the rotation of answer order.
struct Rotation {
    let count: Int
    let start: Int

    init(count: Int, start: Int) {
        self.count = count
        self.start = count == 0 ? 0 : (start % count + count) % count
    }

    @inline(__always)
    subscript(position: Int) -> Int {
        let index = start + position
        return index >= count ? index - count : index
    }
}
