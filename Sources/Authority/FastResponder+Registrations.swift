import Primitives
import DNSWire
import Leases

/// Registration names on the fast path: `F.S` and `_F._tcp.S` from the function's rendered answers,
/// `ID.F.S` from the instance itself.
extension FastResponder {
    func renderRegistrationName(
        query: UnsafeRawBufferPointer, scratch: QueryScratch, relative: Int, leases: Registry, now: Instant,
        rotation: Int, transport: Responder.Transport, out: inout PacketWriter, output: UnsafeMutableRawBufferPointer
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
        guard let entry = leases.entry(key) else {
            return writeNegative(query: query, scratch: scratch, rcode: 3, out: &out, output: output)
        }
        if let instanceID {
            // A deregistered instance's own name answers until its drain ends.
            guard let instance = entry.named(idBytes: instanceID, at: now) else {
                return writeNegative(query: query, scratch: scratch, rcode: 3, out: &out, output: output)
            }
            return renderInstanceName(instance, query: query, scratch: scratch, now: now, out: &out, output: output)
        }
        let answers = FunctionAnswers.current(
            for: entry, apexWire: apexWire, now: now, maxTTL: dynamic.maxTTL, reusable: scratch.smallFunction)
        guard !answers.live.isEmpty else {
            // Only draining instances below: `F.S` exists with no data of its own; `_F._tcp.S` does not.
            let emptyNonTerminal = !srvAlias && entry.draining.contains { $0.isLive(at: now) }
            return writeNegative(
                query: query, scratch: scratch, rcode: emptyNonTerminal ? 0 : 3, out: &out, output: output)
        }
        writeHeader(&out, scratch: scratch, flags: 0x0400, answers: 0, authorities: 0, additionals: 0)
        out.write(UnsafeRawBufferPointer(rebasing: query[12..<scratch.questionEnd]))
        let type = scratch.type
        let counts: SectionCounts
        let partial = transport == .tcp
        if type == .srv {
            counts = writeSRV(
                answers, scratch: scratch, srvAlias: srvAlias, now: now, rotation: rotation, partial: partial, out: &out)
        } else if type == .a, !srvAlias, !answers.ipv4.isEmpty {
            counts = writeAddresses(answers, type: .a, now: now, rotation: rotation, partial: partial, out: &out)
        } else if type == .aaaa, !srvAlias, !answers.ipv6.isEmpty {
            counts = writeAddresses(answers, type: .aaaa, now: now, rotation: rotation, partial: partial, out: &out)
        } else {
            // The name exists with no data of this type: NODATA.
            return writeNegative(query: query, scratch: scratch, rcode: 0, out: &out, output: output)
        }
        guard !out.overflowed else { return 0 }
        if counts.answers == 0 {
            // It does not fit (RFC 2181 §9: an RRset is never split over UDP): TC, no records.
            guard transport == .udp else { return 0 }
            var truncated = PacketWriter(out.buffer)
            writeHeader(&truncated, scratch: scratch, flags: 0x0600, answers: 0, authorities: 0, additionals: 0)
            truncated.write(UnsafeRawBufferPointer(rebasing: query[12..<scratch.questionEnd]))
            out = truncated
            return finish(&out, scratch: scratch, output: output)
        }
        if counts.partial {
            // Over TCP, past 64 KiB: the records that fit, rotated, with TC saying some are left out.
            out.set(UInt16(0x8600) | (scratch.flags & 0x0100), at: 2)
        }
        out.set(UInt16(counts.answers), at: 6)
        out.set(UInt16(counts.additionals), at: 10)
        return finish(&out, scratch: scratch, output: output)
    }

    struct SectionCounts {
        var answers = 0
        var additionals = 0
        /// Only some of the answer's records fit (TCP past 64 KiB).
        var partial = false
    }

    // MARK: - Function answers

    /// The SRV RRset in rotated order with its TTL patched in, then as much glue as fits. When the
    /// whole set does not fit: nothing (TC follows), or with `partial` (TCP) the records that fit.
    private func writeSRV(
        _ answers: FunctionAnswers, scratch: QueryScratch, srvAlias: Bool, now: Instant, rotation: Int, partial: Bool,
        out: inout PacketWriter
    ) -> SectionCounts {
        var counts = SectionCounts()
        let live = answers.live
        let order = Rotation(count: live.count, start: rotation)
        let ttl = answerTTL(answers.earliest, now)
        let room = out.buffer.count - out.count
        let whole = answers.srvRecords.count <= room
        guard whole || partial else { return counts }
        let base = out.count
        answers.srvRecords.withUnsafeBytes { records in
            answers.srvOffsets.withUnsafeBufferPointer { offsets in
                var position = base
                for index in 0..<live.count {
                    let record = order[index]
                    let start = Int(offsets[record])
                    let length = Int(offsets[record + 1]) - start
                    guard whole || out.count + length <= out.buffer.count else { break }
                    out.write(UnsafeRawBufferPointer(rebasing: records[start..<(start + length)]))
                    out.set(ttl, at: position + FunctionAnswers.ttlOffset)
                    position += length
                    counts.answers += 1
                }
            }
        }
        counts.partial = !whole
        guard counts.answers > 0 else { return counts }
        let exposure = TTLPolicy.exposure(now: now, ttl: ttl)
        // Unretained: `answers` holds every instance, and a retain and release each was a sixth of
        // the cost of a 64 KiB TCP answer.
        live.withUnsafeBufferPointer { live in
            for index in 0..<counts.answers {
                unowned(unsafe) let instance = live[order[index]]
                Unmanaged.passUnretained(instance)._withUnsafeGuaranteedRef { $0.noteExposure(until: exposure) }
            }
        }
        if whole {
            counts.additionals = writeGlue(
                answers, order: order, base: base, scratch: scratch, srvAlias: srvAlias, now: now, out: &out)
        }
        return counts
    }

    /// Each target's address, in answer order. As in `ResponseWriter` (RFC 2181 §9, no TC), a record
    /// that does not fit is left out and later, smaller ones still go in, and each owner is written
    /// as the reference writer's bounded compression table would: a pointer to its target while the
    /// table still had room for it, else the target's first label and a pointer to `F.S.<domain>`.
    private func writeGlue(
        _ answers: FunctionAnswers, order: Rotation, base: Int, scratch: QueryScratch, srvAlias: Bool, now: Instant,
        out: inout PacketWriter
    ) -> Int {
        let live = answers.live
        // Names the reference remembers before each target: the question's labels, and for
        // `_F._tcp.S` also `F.S.<domain>` inside the first target.
        let remembered = scratch.labelCount + 1
        var suffixOffset = 12
        var glue = 0
        var target = base + FunctionAnswers.targetOffset
        for index in 0..<live.count {
            let instance = live[order[index]]
            let recordLength = Int(answers.srvOffsets[order[index] + 1] - answers.srvOffsets[order[index]])
            defer { target += recordLength }
            let idLength = instance.spec.id.utf8.count
            if srvAlias, index == 0 { suffixOffset = target + 1 + idLength }
            let entries = remembered + (srvAlias && index > 0 ? 1 : 0) + index
            let pointable = entries <= CompressionLimits.tableCapacity && target < 0x4000
            let ownerLength = pointable ? 2 : 1 + idLength + 2
            let size = ownerLength + Self.addressRecordSize(instance.spec.address) - 2
            guard out.count + size <= out.buffer.count else {
                if out.buffer.count - out.count < 16 { break }  // nothing more can fit
                continue
            }
            let glueTTL = answerTTL(instance.deadline, now)
            if pointable {
                writeAddressRecord(&out, owner: 0xC000 | UInt16(target), instance.spec.address, ttl: glueTTL)
            } else {
                out.writeLabel(instance.spec.id)
                writeAddressRecord(&out, owner: 0xC000 | UInt16(suffixOffset), instance.spec.address, ttl: glueTTL)
            }
            instance.noteExposure(until: TTLPolicy.exposure(now: now, ttl: glueTTL))
            glue += 1
        }
        return glue
    }

    /// The distinct addresses of one family in rotated order; over TCP past 64 KiB, those that fit.
    private func writeAddresses(
        _ answers: FunctionAnswers, type: RRType, now: Instant, rotation: Int, partial: Bool, out: inout PacketWriter
    ) -> SectionCounts {
        var counts = SectionCounts()
        let v4 = type == .a
        let count = v4 ? answers.ipv4.count : answers.ipv6.count
        let recordSize = v4 ? 16 : 28
        let whole = count * recordSize <= out.buffer.count - out.count
        guard whole || partial else { return counts }
        let ttl = answerTTL(v4 ? answers.earliestIPv4 : answers.earliestIPv6, now)
        let order = Rotation(count: count, start: rotation)
        for index in 0..<count {
            guard whole || out.count + recordSize <= out.buffer.count else { break }
            let address = v4 ? IPAddress.v4(IPv4Address(answers.ipv4[order[index]])) : answers.ipv6[order[index]]
            writeAddressRecord(&out, owner: 0xC00C, address, ttl: ttl)
            counts.answers += 1
        }
        counts.partial = !whole
        guard counts.answers > 0 else { return counts }
        let exposure = TTLPolicy.exposure(now: now, ttl: ttl)
        (v4 ? answers.ipv4Instances : answers.ipv6Instances).withUnsafeBufferPointer { instances in
            for index in instances.indices {
                unowned(unsafe) let instance = instances[index]
                Unmanaged.passUnretained(instance)._withUnsafeGuaranteedRef { $0.noteExposure(until: exposure) }
            }
        }
        return counts
    }

    // MARK: - Instance names

    /// `ID.F.S`: the instance's address, or its meta as TXT; NODATA for other types.
    private func renderInstanceName(
        _ instance: Instance, query: UnsafeRawBufferPointer, scratch: QueryScratch, now: Instant,
        out: inout PacketWriter, output: UnsafeMutableRawBufferPointer
    ) -> Int {
        writeHeader(&out, scratch: scratch, flags: 0x0400, answers: 0, authorities: 0, additionals: 0)
        out.write(UnsafeRawBufferPointer(rebasing: query[12..<scratch.questionEnd]))
        let type = scratch.type
        let ttl = answerTTL(instance.deadline, now)
        var answers: UInt16 = 0
        if type == instance.spec.address.rrType {
            writeAddressRecord(&out, owner: 0xC00C, instance.spec.address, ttl: ttl)
            answers = 1
        } else if type == .txt {
            for entry in instance.spec.meta {
                writeTXTRecord(&out, entry, ttl: ttl)
                answers += 1
            }
        }
        guard answers > 0 else {
            return writeNegative(query: query, scratch: scratch, rcode: 0, out: &out, output: output)
        }
        // Too large (a long TXT over UDP): the full path truncates it.
        guard !out.overflowed else { return 0 }
        instance.noteExposure(until: TTLPolicy.exposure(now: now, ttl: ttl))
        out.set(answers, at: 6)
        return finish(&out, scratch: scratch, output: output)
    }
}
