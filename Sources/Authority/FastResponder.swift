import DNSWire
import Leases

/// The packet path for the common queries, writing the response straight into the send buffer with
/// no allocation: static names from `StaticTemplates`, and registration names (`F.S`, `_F._tcp.S`,
/// `ID.F.S` with A, AAAA, SRV, TXT) rendered from the function's entry, with only the ID, the
/// question (echoed as received) and the TTLs computed per query.
///
/// It declines (returns 0) whenever the answer needs more than that: a static node at a
/// registration name, wildcards or delegations in the domain's zone, ANY, a response that would
/// need truncation, or anything unusual in the query. The full `Responder` then answers, so the two
/// paths give the same bytes where both apply (a test holds them to that).
package struct FastResponder: Sendable {
    package let templates: StaticTemplates
    private let dynamic: DynamicNames
    private let apexWire: [UInt8]
    private let apexLabels: Int
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
    package func respond(
        query: UnsafeRawBufferPointer, scratch: QueryScratch, leases: Registry, now: Instant, rotation: Int,
        limit: Int, output: UnsafeMutableRawBufferPointer
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
            out: &out, output: output)
    }

    // MARK: - Registration names

    private func renderRegistrationName(
        query: UnsafeRawBufferPointer, scratch: QueryScratch, relative: Int, leases: Registry, now: Instant,
        rotation: Int, out: inout PacketWriter, output: UnsafeMutableRawBufferPointer
    ) -> Int {
        let first = scratch.label(0)
        let underscored = first.first == UInt8(ascii: "_")
        var instanceID: UnsafeRawBufferPointer? = nil
        let functionLabel: UnsafeRawBufferPointer
        let serviceLabel: UnsafeRawBufferPointer
        var srvAlias = false
        if relative == 2 {
            guard !underscored else { return 0 }
            functionLabel = first
            serviceLabel = scratch.label(1)
        } else if underscored {
            let proto = scratch.label(1)
            guard proto.elementsEqual("_tcp".utf8) || proto.elementsEqual("_udp".utf8), first.count > 1 else {
                return 0
            }
            functionLabel = UnsafeRawBufferPointer(rebasing: first[1...])
            serviceLabel = scratch.label(2)
            srvAlias = true
        } else {
            instanceID = first
            functionLabel = scratch.label(1)
            serviceLabel = scratch.label(2)
        }
        guard !serviceLabel.isEmpty, !functionLabel.isEmpty else { return 0 }
        let key = FunctionKey(
            service: String(decoding: serviceLabel, as: UTF8.self), function: String(decoding: functionLabel, as: UTF8.self))
        let entry = leases.entry(key)
        let instances = entry?.instances ?? []
        guard instances.count <= Self.maximumInstances else { return 0 }
        var matching: Instance? = nil
        var anyLive = false
        for instance in instances where instance.isLive(at: now) {
            guard let instanceID else {
                anyLive = true
                break
            }
            if Self.equals(instance.spec.id, instanceID) {
                matching = instance
                anyLive = true
                break
            }
        }
        // A deregistered instance's own name answers until its drain ends; above it, `F.S` exists
        // with no data of its own.
        var drainingBelow = false
        if !anyLive, let draining = entry?.draining {
            for ghost in draining where ghost.isLive(at: now) {
                guard let instanceID else {
                    drainingBelow = true
                    break
                }
                if Self.equals(ghost.spec.id, instanceID) {
                    matching = ghost
                    anyLive = true
                    break
                }
            }
        }
        guard anyLive else {
            let emptyNonTerminal = drainingBelow && !srvAlias
            return writeNegative(
                query: query, scratch: scratch, rcode: emptyNonTerminal ? 0 : 3, out: &out, output: output)
        }

        writeHeader(&out, scratch: scratch, flags: 0x0400, answers: 0, authorities: 0, additionals: 0)
        out.write(UnsafeRawBufferPointer(rebasing: query[12..<scratch.questionEnd]))
        let type = scratch.type
        var answers: UInt16 = 0
        var additionals: UInt16 = 0
        let order = Rotation(count: instances.count, start: rotation)
        if let instance = matching {
            let ttl = answerTTL(instance.deadline, now)
            if type == instance.spec.address.rrType {
                writeAddressRecord(&out, owner: 0xC00C, instance.spec.address, ttl: ttl)
                answers = 1
            } else if type == .txt {
                for entry in instance.spec.meta {
                    writeTXTRecord(&out, entry, ttl: ttl)
                    answers += 1
                }
            }
            if answers > 0 { instance.noteExposure(until: TTLPolicy.exposure(now: now, ttl: ttl)) }
        } else if type == .srv {
            // The targets' suffix `F.S.<domain>`: the question itself for `F.S`, assembled for `_F._tcp.S`.
            let suffix = srvAlias ? assembleSuffix(scratch, function: functionLabel) : scratch.nameBytes
            let ttl = answerTTL(earliestDeadline(instances, now: now, type: nil), now)
            withUnsafeTemporaryAllocation(of: Int.self, capacity: instances.count) { targets in
                for position in 0..<instances.count {
                    let instance = instances[order[position]]
                    guard instance.isLive(at: now) else { continue }
                    out.write(UInt16(0xC00C))
                    out.write(RRType.srv.rawValue)
                    out.write(UInt16(1))
                    out.write(ttl)
                    let lengthAt = out.count
                    out.write(UInt16(0))
                    out.write(instance.spec.priority)
                    out.write(instance.spec.weight)
                    out.write(instance.spec.port)
                    targets[Int(answers)] = out.count
                    out.writeLabel(instance.spec.id)
                    out.write(suffix)
                    if !out.overflowed { out.set(UInt16(out.count - lengthAt - 2), at: lengthAt) }
                    answers += 1
                    instance.noteExposure(until: TTLPolicy.exposure(now: now, ttl: ttl))
                }
                // Glue: each target's address, its owner a pointer to the target just written. As
                // in `ResponseWriter`, a record that does not fit is left out (RFC 2181 §9, no TC)
                // and later, smaller ones still go in.
                var answerIndex = 0
                for position in 0..<instances.count {
                    let instance = instances[order[position]]
                    guard instance.isLive(at: now) else { continue }
                    let glueTTL = answerTTL(instance.deadline, now)
                    let target = targets[answerIndex]
                    answerIndex += 1
                    guard target < 0x4000 else { break }
                    guard out.count + Self.addressRecordSize(instance.spec.address) <= out.buffer.count else { continue }
                    writeAddressRecord(&out, owner: 0xC000 | UInt16(target), instance.spec.address, ttl: glueTTL)
                    instance.noteExposure(until: TTLPolicy.exposure(now: now, ttl: glueTTL))
                    additionals += 1
                }
            }
        } else if (type == .a || type == .aaaa) && !srvAlias {
            let earliest = earliestDeadline(instances, now: now, type: type)
            if earliest.nanoseconds != .max {
                let ttl = answerTTL(earliest, now)
                for position in 0..<instances.count {
                    let instance = instances[order[position]]
                    guard instance.isLive(at: now), instance.spec.address.rrType == type else { continue }
                    instance.noteExposure(until: TTLPolicy.exposure(now: now, ttl: ttl))
                    // Instances that share an address (different ports) give one record.
                    var duplicate = false
                    for earlier in 0..<position {
                        let other = instances[order[earlier]]
                        if other.isLive(at: now), other.spec.address == instance.spec.address {
                            duplicate = true
                            break
                        }
                    }
                    guard !duplicate else { continue }
                    writeAddressRecord(&out, owner: 0xC00C, instance.spec.address, ttl: ttl)
                    answers += 1
                }
            }
        }
        guard answers > 0 else {
            // The name exists with no data of this type: NODATA.
            return writeNegative(query: query, scratch: scratch, rcode: 0, out: &out, output: output)
        }
        guard !out.overflowed else { return 0 }
        out.set(answers, at: 6)
        out.set(additionals, at: 10)
        return finish(&out, scratch: scratch, output: output)
    }

    /// More instances than this in one function go to the full path (and its truncation rules).
    static let maximumInstances = 64

    private func earliestDeadline(_ instances: [Instance], now: Instant, type: RRType?) -> Instant {
        var earliest = Instant(nanoseconds: .max)
        for instance in instances where instance.isLive(at: now) {
            if let type, instance.spec.address.rrType != type { continue }
            let deadline = instance.deadline
            if deadline < earliest { earliest = deadline }
        }
        return earliest
    }

    // MARK: - Pieces

    private func answerTTL(_ deadline: Instant, _ now: Instant) -> UInt32 {
        TTLPolicy.answerTTL(earliestDeadline: deadline, now: now, maxTTL: dynamic.maxTTL)
    }

    private func isUnderApex(_ scratch: QueryScratch) -> Bool {
        let name = scratch.nameBytes
        guard name.count >= apexWire.count, scratch.labelCount >= apexLabels else { return false }
        let suffix = scratch.suffix(from: scratch.labelCount - apexLabels)
        return apexWire.withUnsafeBytes { suffix.elementsEqual($0) }
    }

    private func isStaticName(_ scratch: QueryScratch) -> Bool {
        staticNames.lookup(scratch.nameBytes, type: 0) != nil
    }

    private func writeHeader(
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
    private func writeNegative(
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
    private static func addressRecordSize(_ address: IPAddressValue) -> Int {
        switch address {
        case .v4: 2 + 2 + 2 + 4 + 2 + 4
        case .v6: 2 + 2 + 2 + 4 + 2 + 16
        }
    }

    private func writeAddressRecord(_ out: inout PacketWriter, owner: UInt16, _ address: IPAddressValue, ttl: UInt32) {
        out.write(owner)
        switch address {
        case .v4(let value):
            out.write(RRType.a.rawValue)
            out.write(UInt16(1))
            out.write(ttl)
            out.write(UInt16(4))
            out.write(value)
        case .v6(let high, let low):
            out.write(RRType.aaaa.rawValue)
            out.write(UInt16(1))
            out.write(ttl)
            out.write(UInt16(16))
            out.write(UInt32(truncatingIfNeeded: high >> 32))
            out.write(UInt32(truncatingIfNeeded: high))
            out.write(UInt32(truncatingIfNeeded: low >> 32))
            out.write(UInt32(truncatingIfNeeded: low))
        }
    }

    private func writeTXTRecord(_ out: inout PacketWriter, _ entry: MetaEntry, ttl: UInt32) {
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
    private func finish(_ out: inout PacketWriter, scratch: QueryScratch, output: UnsafeMutableRawBufferPointer) -> Int {
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

    private func assembleSuffix(_ scratch: QueryScratch, function: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        var writer = PacketWriter(scratch.assembled)
        writer.write(UInt8(function.count))
        writer.write(function)
        writer.write(scratch.suffix(from: 2))
        return UnsafeRawBufferPointer(rebasing: scratch.assembled[0..<writer.count])
    }

    private static func labelString(_ bytes: UnsafeRawBufferPointer) -> String? {
        guard !bytes.isEmpty else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func equals(_ text: String, _ bytes: UnsafeRawBufferPointer) -> Bool {
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
