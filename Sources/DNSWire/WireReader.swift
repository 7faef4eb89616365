/// A cursor over borrowed message bytes.
///
/// Every read checks its length against what remains and throws `WireError.truncated` instead of
/// trapping. `read…` advances; `peek…` does not. The reader never outlives the buffer it was made
/// from: create it inside `withUnsafeBytes`.
package struct WireReader {
    package let bytes: UnsafeRawBufferPointer
    package private(set) var offset: Int
    /// Where reading must stop (the end of an RDATA while inside one).
    package private(set) var limit: Int

    package init(_ bytes: UnsafeRawBufferPointer, offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
        self.limit = bytes.count
    }

    package var remaining: Int { limit - offset }
    package var isAtEnd: Bool { offset >= limit }

    @inline(__always)
    package mutating func readUInt8() throws(WireError) -> UInt8 {
        guard offset < limit else { throw .truncated(at: wireOffset(offset)) }
        defer { offset += 1 }
        return bytes[offset]
    }

    @inline(__always)
    package mutating func readUInt16() throws(WireError) -> UInt16 {
        guard limit - offset >= 2 else { throw .truncated(at: wireOffset(offset)) }
        defer { offset += 2 }
        return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    @inline(__always)
    package mutating func readUInt32() throws(WireError) -> UInt32 {
        guard limit - offset >= 4 else { throw .truncated(at: wireOffset(offset)) }
        defer { offset += 4 }
        return UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8
            | UInt32(bytes[offset + 3])
    }

    package mutating func readBytes(_ count: Int) throws(WireError) -> [UInt8] {
        guard count >= 0, limit - offset >= count else { throw .truncated(at: wireOffset(offset)) }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    package mutating func skip(_ count: Int) throws(WireError) {
        guard count >= 0, limit - offset >= count else { throw .truncated(at: wireOffset(offset)) }
        offset += count
    }

    /// Reads `length` bytes of RDATA through `body`, which must consume exactly that many.
    ///
    /// The whole RDATA must lie within the message (else `truncated` at its start). Inside, the
    /// reader's limit is the end of the RDATA, so a field or name running past it, or RDATA left
    /// over, means RDLENGTH disagrees with the content: `badRDataLength(type:at:)` at its start.
    package mutating func withRData<T>(
        length: Int, type: UInt16, _ body: (inout WireReader) throws(WireError) -> T
    ) throws(WireError) -> T {
        let start = offset
        guard length >= 0, limit - offset >= length else { throw .truncated(at: wireOffset(offset)) }
        let savedLimit = limit
        limit = offset + length
        defer { limit = savedLimit }
        let value: T
        do {
            value = try body(&self)
        } catch .truncated {
            // Every byte up to `limit` is present, so a short read inside means RDLENGTH is too small.
            throw .badRDataLength(type: type, at: wireOffset(start))
        }
        guard offset == limit else { throw .badRDataLength(type: type, at: wireOffset(start)) }
        return value
    }

    // MARK: - Names

    /// The most pointers a legal name can need: every label of a 255-octet name is at least two
    /// octets, so (255 + 1) / 2 - 2 hops already reach every label (the miekg bound).
    package static let maxPointerHops = (255 + 1) / 2 - 2

    /// Reads a possibly compressed name and returns it uncompressed.
    ///
    /// Pointers must point strictly before the pointer itself (RFC 1035 §4.1.4: "a prior occurance of
    /// the same name"), at most `maxPointerHops` of them; a name reached through a pointer must end
    /// before that pointer, or it would loop. Labels are at most 63 octets and the name at most 255.
    /// - Throws: `truncated` when the name runs past the reader's limit, `pointerLoop`,
    ///   `forwardPointer`, `reservedLabelType`, `nameTooLong` (at the name's start), or
    ///   `unexpectedPointer` when `allowCompression` is false.
    package mutating func readName(allowCompression: Bool = true) throws(WireError) -> DomainName {
        var wire: [UInt8] = []
        wire.reserveCapacity(32)
        var position = offset
        var hops = 0
        var resumeAt: Int? = nil
        // Labels must end before `end`: the reader's limit at first, then the pointer most recently
        // followed (`lastPointer`), since running into it would read the same bytes again.
        var end = limit
        var lastPointer: Int? = nil
        while true {
            guard position < end else { throw Self.overrun(at: position, lastPointer: lastPointer) }
            let length = bytes[position]
            switch length & 0xC0 {
            case 0x00:
                let count = Int(length)
                guard end - position > count else { throw Self.overrun(at: position, lastPointer: lastPointer) }
                // Room must stay for the root label unless this is it.
                guard wire.count + 1 + count + (count == 0 ? 0 : 1) <= 255 else {
                    throw .nameTooLong(at: wireOffset(offset))
                }
                wire.append(length)
                if count == 0 {
                    offset = resumeAt ?? position + 1
                    return DomainName(uncheckedWire: wire)
                }
                for index in position + 1...position + count { wire.append(bytes[index]) }
                position += 1 + count
            case 0xC0:
                guard allowCompression else { throw .unexpectedPointer(at: wireOffset(position)) }
                guard end - position >= 2 else { throw Self.overrun(at: position, lastPointer: lastPointer) }
                let target = Int(length & 0x3F) << 8 | Int(bytes[position + 1])
                guard target != position else { throw .pointerLoop(at: wireOffset(position)) }
                guard target < position else {
                    if let lastPointer, target == lastPointer { throw .pointerLoop(at: wireOffset(target)) }
                    throw .forwardPointer(at: wireOffset(position))
                }
                hops += 1
                guard hops <= Self.maxPointerHops else { throw .pointerLoop(at: wireOffset(position)) }
                if resumeAt == nil { resumeAt = position + 2 }
                end = position
                lastPointer = position
                position = target
            default:
                throw .reservedLabelType(at: wireOffset(position))
            }
        }
    }

    /// The error for a label or pointer that does not fit before `end`.
    private static func overrun(at position: Int, lastPointer: Int?) -> WireError {
        if let lastPointer { return .pointerLoop(at: wireOffset(lastPointer)) }
        return .truncated(at: wireOffset(position))
    }

    /// Skips a possibly compressed name without building it, with the same checks on the bytes it passes.
    package mutating func skipName() throws(WireError) {
        let start = offset
        var total = 0
        while true {
            guard offset < limit else { throw .truncated(at: wireOffset(offset)) }
            let length = bytes[offset]
            switch length & 0xC0 {
            case 0x00:
                let count = Int(length)
                guard limit - offset >= 1 + count else { throw .truncated(at: wireOffset(offset)) }
                total += 1 + count
                guard total <= 255 else { throw .nameTooLong(at: wireOffset(start)) }
                offset += 1 + count
                if count == 0 { return }
            case 0xC0:
                guard limit - offset >= 2 else { throw .truncated(at: wireOffset(offset)) }
                let target = Int(length & 0x3F) << 8 | Int(bytes[offset + 1])
                guard target != offset else { throw .pointerLoop(at: wireOffset(offset)) }
                guard target < offset else { throw .forwardPointer(at: wireOffset(offset)) }
                offset += 2
                return
            default:
                throw .reservedLabelType(at: wireOffset(offset))
            }
        }
    }
}

/// Runs `body` with a reader over `bytes`, keeping the typed error that `withUnsafeBytes` would erase.
package func withWireReader<T>(
    _ bytes: [UInt8], _ body: (inout WireReader) throws(WireError) -> T
) throws(WireError) -> T {
    let result: Result<T, WireError> = bytes.withUnsafeBytes { raw in
        var reader = WireReader(raw)
        do throws(WireError) {
            return .success(try body(&reader))
        } catch {
            return .failure(error)
        }
    }
    return try result.get()
}
