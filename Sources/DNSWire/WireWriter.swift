/// Appends DNS wire format to a buffer the caller owns and reuses.
///
/// `write…` appends and returns nothing; lengths that are known only afterwards (RDLENGTH, the TCP
/// length prefix) are reserved with `reserveLengthSlot()` and filled with `fill(_:)`. Names are
/// compressed against a small fixed table of earlier names (RFC 1035 §4.1.4) rather than a
/// per-message dictionary, so writing allocates nothing once the buffer has grown.
package struct WireWriter {
    package var bytes: [UInt8]
    /// Offset in `bytes` where the DNS message starts (2 when a TCP length prefix comes first).
    package private(set) var messageStart: Int
    private var compression = CompressionTable()

    package init(capacity: Int = 512) {
        bytes = []
        bytes.reserveCapacity(capacity)
        messageStart = 0
    }

    /// Empties the buffer, keeping its storage, and starts a new message at the current end.
    package mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
        messageStart = 0
        compression.removeAll()
    }

    /// Marks the current end as the start of the message, for compression offsets.
    package mutating func beginMessage() {
        messageStart = bytes.count
        compression.removeAll()
    }

    package var count: Int { bytes.count }

    @inline(__always)
    package mutating func writeUInt8(_ value: UInt8) { bytes.append(value) }

    @inline(__always)
    package mutating func writeUInt16(_ value: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value))
    }

    @inline(__always)
    package mutating func writeUInt32(_ value: UInt32) {
        bytes.append(UInt8(truncatingIfNeeded: value >> 24))
        bytes.append(UInt8(truncatingIfNeeded: value >> 16))
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value))
    }

    package mutating func writeBytes(_ data: some Sequence<UInt8>) { bytes.append(contentsOf: data) }

    package mutating func writeBytes(_ data: UnsafeRawBufferPointer) { bytes.append(contentsOf: data) }

    /// Overwrites two bytes at an absolute offset (used to patch IDs, counts and TTLs).
    package mutating func setUInt16(_ value: UInt16, at position: Int) {
        bytes[position] = UInt8(truncatingIfNeeded: value >> 8)
        bytes[position + 1] = UInt8(truncatingIfNeeded: value)
    }

    // MARK: - Checkpoints

    /// A point to roll back to, undoing the bytes and compression entries written since.
    package struct Checkpoint {
        fileprivate let count: Int
        fileprivate let compressionCount: Int
    }

    package func checkpoint() -> Checkpoint {
        Checkpoint(count: bytes.count, compressionCount: compression.count)
    }

    package mutating func rollback(to checkpoint: Checkpoint) {
        bytes.removeSubrange(checkpoint.count...)
        compression.truncate(to: checkpoint.compressionCount)
    }

    // MARK: - Length slots

    /// A reserved two-byte length to be filled once what it measures has been written.
    package struct LengthSlot {
        fileprivate let position: Int
    }

    package mutating func reserveLengthSlot() -> LengthSlot {
        let slot = LengthSlot(position: bytes.count)
        writeUInt16(0)
        return slot
    }

    /// Fills `slot` with the number of bytes written after it.
    /// - Throws: `WireError.messageTooLong` when that exceeds 65535.
    package mutating func fill(_ slot: LengthSlot) throws(WireError) {
        let length = bytes.count - slot.position - 2
        guard length <= 0xFFFF else { throw .messageTooLong }
        setUInt16(UInt16(length), at: slot.position)
    }

    // MARK: - Names

    /// Writes `name`, replacing its longest suffix already in the message by a pointer when `compress` is set.
    ///
    /// RFC 2782 forbids compressing the SRV target and RFC 3597 §4 any name in an unknown type's RDATA,
    /// so callers pass `compress: false` there; the name still becomes a target for later pointers.
    /// Only its labels down to the first suffix the table already knows are remembered: the rest
    /// would be duplicates, and in a large SRV answer they filled the table after seven targets, so
    /// the glue records further on could no longer point at their targets (RFC 2181 §9 lets glue that
    /// does not fit be left out, and the wasted bytes left out some that Knot fits).
    package mutating func writeName(_ name: DomainName, compress: Bool = true) {
        let wire = name.wire
        var labelStart = 0
        var remember = true
        while labelStart < wire.count, wire[labelStart] != 0 {
            if compress || remember,
                let target = compression.find(suffixOf: wire, from: labelStart, in: bytes, base: messageStart)
            {
                if compress {
                    writeUInt16(0xC000 | UInt16(target))
                    return
                }
                remember = false
            }
            let position = bytes.count - messageStart
            if remember, position < 0x4000 { compression.add(position) }
            let count = Int(wire[labelStart])
            bytes.append(contentsOf: wire[labelStart...labelStart + count])
            labelStart += 1 + count
        }
        bytes.append(0)
    }
}

/// The bounds of name compression, for code that writes the same bytes without a `WireWriter`.
package enum CompressionLimits {
    /// Names (label positions) remembered per message: past it, names are written in full.
    package static let tableCapacity = 32
}

/// Offsets (relative to the message start) of names already written, for compression pointers.
///
/// Fixed capacity: when it is full, later names are written without being remembered, which costs
/// a few bytes in very large answers and keeps the cost of each lookup bounded.
private struct CompressionTable {
    static let capacity = CompressionLimits.tableCapacity
    private var offsets: (
        UInt16, UInt16, UInt16, UInt16, UInt16, UInt16, UInt16, UInt16, UInt16, UInt16, UInt16, UInt16, UInt16,
        UInt16, UInt16, UInt16, UInt16, UInt16, UInt16, UInt16, UInt16, UInt16, UInt16, UInt16, UInt16, UInt16,
        UInt16, UInt16, UInt16, UInt16, UInt16, UInt16
    ) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    private(set) var count = 0

    mutating func removeAll() { count = 0 }

    mutating func truncate(to newCount: Int) { count = min(count, newCount) }

    mutating func add(_ offset: Int) {
        guard count < Self.capacity else { return }
        withUnsafeMutableBytes(of: &offsets) { raw in
            raw.storeBytes(of: UInt16(offset), toByteOffset: count * 2, as: UInt16.self)
        }
        count += 1
    }

    /// The offset of an earlier name equal (ignoring ASCII case) to `wire[from...]`, if any.
    func find(suffixOf wire: [UInt8], from start: Int, in buffer: [UInt8], base: Int) -> Int? {
        guard count > 0 else { return nil }
        return withUnsafeBytes(of: offsets) { raw -> Int? in
            for index in 0..<count {
                let offset = Int(raw.load(fromByteOffset: index * 2, as: UInt16.self))
                if Self.matches(wire, from: start, buffer: buffer, base: base, at: offset) { return offset }
            }
            return nil
        }
    }

    private static func matches(_ wire: [UInt8], from start: Int, buffer: [UInt8], base: Int, at offset: Int) -> Bool {
        var nameIndex = start
        var position = base + offset
        var hops = 0
        while true {
            guard position < buffer.count else { return false }
            let length = buffer[position]
            if length & 0xC0 == 0xC0 {
                guard position + 1 < buffer.count, hops < WireReader.maxPointerHops else { return false }
                position = base + (Int(length & 0x3F) << 8 | Int(buffer[position + 1]))
                hops += 1
                continue
            }
            guard nameIndex < wire.count, wire[nameIndex] == length else { return false }
            if length == 0 { return true }
            let count = Int(length)
            guard position + count < buffer.count else { return false }
            for step in 1...count where asciiLower(wire[nameIndex + step]) != asciiLower(buffer[position + step]) {
                return false
            }
            nameIndex += 1 + count
            position += 1 + count
        }
    }
}

@inline(__always)
package func asciiLower(_ byte: UInt8) -> UInt8 {
    byte &- 0x41 < 26 ? byte | 0x20 : byte
}
