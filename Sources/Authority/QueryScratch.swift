import DNSWire

/// Per-thread scratch space for the fast path: the query's name lower-cased, where its labels
/// start, and what else the header and OPT said. Allocated once per thread, reused for every query.
package final class QueryScratch {
    /// The question name in wire form, lower-cased.
    package let name = UnsafeMutableRawBufferPointer.allocate(byteCount: 256, alignment: 8)
    package private(set) var nameLength = 0
    /// Offsets in `name` of each label's length byte, up to 128 labels.
    package let labelStarts = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: 128)
    package private(set) var labelCount = 0
    /// A second buffer for names the fast path assembles (SRV targets of `_F._tcp.S`).
    package let assembled = UnsafeMutableRawBufferPointer.allocate(byteCount: 256, alignment: 8)
    /// The answers of a small function, filled per query (large ones keep theirs with their entry).
    let smallFunction = FunctionAnswers()

    package private(set) var id: UInt16 = 0
    package private(set) var flags: UInt16 = 0
    package private(set) var type = RRType(0)
    /// Where the question ends in the query (it starts at 12).
    package private(set) var questionEnd = 0
    package private(set) var hasEDNS = false
    package private(set) var dnssecOK = false
    /// The largest UDP reply this query may get: 512 without EDNS, else the client's size capped at
    /// `udpMaxPayload`.
    package private(set) var udpPayload = 512
    /// `--udp-max-payload`.
    private let udpMaxPayload: Int

    package init(udpMaxPayload: Int = Int(EDNS.defaultUDPMaxPayload)) {
        self.udpMaxPayload = udpMaxPayload
    }

    deinit {
        name.deallocate()
        labelStarts.deallocate()
        assembled.deallocate()
    }

    /// Reads a plain query: QR clear, QUERY, one question of class IN with no pointer, no answer or
    /// authority records, and at most an EDNS version 0 OPT. Anything else returns false and goes to
    /// the full `Responder`, which knows every error and edge case.
    package func scan(_ query: UnsafeRawBufferPointer) -> Bool {
        guard query.count >= 17 else { return false }
        id = UInt16(query[0]) << 8 | UInt16(query[1])
        flags = UInt16(query[2]) << 8 | UInt16(query[3])
        // QR clear and opcode QUERY; QDCOUNT 1, ANCOUNT 0, NSCOUNT 0, ARCOUNT 0 or 1.
        guard flags & 0xF800 == 0, query[4] == 0, query[5] == 1, query[6] == 0, query[7] == 0, query[8] == 0,
            query[9] == 0, query[10] == 0, query[11] <= 1
        else { return false }
        var offset = 12
        var written = 0
        labelCount = 0
        while true {
            guard offset < query.count else { return false }
            let length = Int(query[offset])
            guard length < 64, offset + 1 + length <= query.count, written + 1 + length <= 255 else { return false }
            if labelCount < 128 { labelStarts[labelCount] = UInt8(truncatingIfNeeded: written) }
            name[written] = UInt8(length)
            written += 1
            offset += 1
            if length == 0 { break }
            guard labelCount < 127 else { return false }
            labelCount += 1
            for index in 0..<length { name[written + index] = asciiLower(query[offset + index]) }
            written += length
            offset += length
        }
        nameLength = written
        guard offset + 4 <= query.count, query[offset + 2] == 0, query[offset + 3] == 1 else { return false }
        type = RRType(UInt16(query[offset]) << 8 | UInt16(query[offset + 1]))
        // Types `ResponsePolicy` answers with an error before any lookup (FORMERR, REFUSED).
        guard type != .opt, type != .axfr, type != .ixfr else { return false }
        questionEnd = offset + 4
        hasEDNS = query[11] == 1
        dnssecOK = false
        udpPayload = 512
        guard hasEDNS else { return true }
        // The OPT record: root owner, TYPE 41, CLASS = payload, TTL = ext-rcode/version/flags, RDATA options.
        offset = questionEnd
        guard offset + 11 <= query.count, query[offset] == 0, query[offset + 1] == 0, query[offset + 2] == 41 else {
            return false
        }
        let payload = Int(query[offset + 3]) << 8 | Int(query[offset + 4])
        guard query[offset + 6] == 0 else { return false }  // EDNS version 0 only; BADVERS is the slow path's
        dnssecOK = query[offset + 7] & 0x80 != 0
        let rdataLength = Int(query[offset + 9]) << 8 | Int(query[offset + 10])
        var option = offset + 11
        let end = option + rdataLength
        guard end <= query.count else { return false }
        while option < end {
            guard option + 4 <= end else { return false }
            let length = Int(query[option + 2]) << 8 | Int(query[option + 3])
            option += 4 + length
            guard option <= end else { return false }
        }
        udpPayload = ResponsePolicy.udpLimit(clientPayload: payload, maximum: udpMaxPayload)
        return true
    }

    /// The lower-cased name as a buffer.
    package var nameBytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: name[0..<nameLength]) }

    /// Label `index` (0 = leftmost) without its length byte.
    package func label(_ index: Int) -> UnsafeRawBufferPointer {
        let start = Int(labelStarts[index])
        return UnsafeRawBufferPointer(rebasing: name[(start + 1)..<(start + 1 + Int(name[start]))])
    }

    /// The name from label `index` to the end, in wire form.
    package func suffix(from index: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: name[Int(labelStarts[index])..<nameLength])
    }
}

/// Bounds-checked appends into a caller-owned output buffer; every write reports whether it fit.
package struct PacketWriter {
    package let buffer: UnsafeMutableRawBufferPointer
    package private(set) var count = 0
    /// Set once a write did not fit; later writes do nothing.
    package private(set) var overflowed = false

    package init(_ buffer: UnsafeMutableRawBufferPointer) { self.buffer = buffer }

    @inline(__always)
    package mutating func write(_ byte: UInt8) {
        guard count < buffer.count else { overflowed = true; return }
        buffer[count] = byte
        count += 1
    }

    @inline(__always)
    package mutating func write(_ value: UInt16) {
        guard count + 2 <= buffer.count else { overflowed = true; return }
        buffer[count] = UInt8(truncatingIfNeeded: value >> 8)
        buffer[count + 1] = UInt8(truncatingIfNeeded: value)
        count += 2
    }

    @inline(__always)
    package mutating func write(_ value: UInt32) {
        write(UInt16(truncatingIfNeeded: value >> 16))
        write(UInt16(truncatingIfNeeded: value))
    }

    @inline(__always)
    package mutating func write(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count <= buffer.count - count else { overflowed = true; return }
        if bytes.count > 0 {
            UnsafeMutableRawBufferPointer(rebasing: buffer[count..<(count + bytes.count)]).copyMemory(from: bytes)
        }
        count += bytes.count
    }

    package mutating func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { write($0) }
    }

    /// Writes a UTF-8 label (length byte and bytes) from a String without copying it out.
    package mutating func writeLabel(_ text: String) {
        var text = text
        text.withUTF8 { utf8 in
            write(UInt8(utf8.count))
            write(UnsafeRawBufferPointer(utf8))
        }
    }

    @inline(__always)
    package mutating func set(_ value: UInt16, at position: Int) {
        buffer[position] = UInt8(truncatingIfNeeded: value >> 8)
        buffer[position + 1] = UInt8(truncatingIfNeeded: value)
    }

    @inline(__always)
    package mutating func set(_ value: UInt32, at position: Int) {
        set(UInt16(truncatingIfNeeded: value >> 16), at: position)
        set(UInt16(truncatingIfNeeded: value), at: position + 2)
    }
}
