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
        guard offset < limit else { throw .truncated(at: offset) }
        defer { offset += 1 }
        return bytes[offset]
    }

    @inline(__always)
    package mutating func readUInt16() throws(WireError) -> UInt16 {
        guard limit - offset >= 2 else { throw .truncated(at: offset) }
        defer { offset += 2 }
        return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    @inline(__always)
    package mutating func readUInt32() throws(WireError) -> UInt32 {
        guard limit - offset >= 4 else { throw .truncated(at: offset) }
        defer { offset += 4 }
        return UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8
            | UInt32(bytes[offset + 3])
    }

    package mutating func readBytes(_ count: Int) throws(WireError) -> [UInt8] {
        guard count >= 0, limit - offset >= count else { throw .truncated(at: offset) }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    package mutating func skip(_ count: Int) throws(WireError) {
        guard count >= 0, limit - offset >= count else { throw .truncated(at: offset) }
        offset += count
    }

    package func peekUInt16(at position: Int) throws(WireError) -> UInt16 {
        guard position >= 0, bytes.count - position >= 2 else { throw .truncated(at: position) }
        return UInt16(bytes[position]) << 8 | UInt16(bytes[position + 1])
    }

    /// Reads `length` bytes of RDATA through `body`, which must consume exactly that many.
    package mutating func withRData<T>(
        length: Int, type: UInt16, _ body: (inout WireReader) throws(WireError) -> T
    ) throws(WireError) -> T {
        let start = offset
        guard length >= 0, limit - offset >= length else { throw .truncated(at: offset) }
        let savedLimit = limit
        limit = offset + length
        let value = try body(&self)
        guard offset == limit else { throw .badRDataLength(type: type, at: start) }
        limit = savedLimit
        return value
    }

    // MARK: - Names

    /// The most pointers a legal name can need: every label of a 255-octet name is at least two
    /// octets, so (255 + 1) / 2 - 2 hops already reach every label (the miekg bound).
    package static let maxPointerHops = (255 + 1) / 2 - 2

    /// Reads a possibly compressed name and returns it uncompressed.
    ///
    /// Pointers must point strictly before the pointer itself (so they cannot loop), at most
    /// `maxPointerHops` of them; labels are at most 63 octets and the name at most 255.
    package mutating func readName(allowCompression: Bool = true) throws(WireError) -> DomainName {
        var wire: [UInt8] = []
        wire.reserveCapacity(32)
        var position = offset
        var hops = 0
        var resumeAt: Int? = nil
        // The byte limit applies to the name as it sits here; pointer targets may be anywhere earlier.
        var end = limit
        while true {
            guard position < end else { throw .truncated(at: position) }
            let length = bytes[position]
            switch length & 0xC0 {
            case 0x00:
                let count = Int(length)
                guard position + 1 + count <= end else { throw .truncated(at: position) }
                // Room must stay for the root label unless this is it.
                guard wire.count + 1 + count + (count == 0 ? 0 : 1) <= 255 else { throw .nameTooLong(at: offset) }
                wire.append(length)
                if count == 0 {
                    offset = resumeAt ?? position + 1
                    return DomainName(uncheckedWire: wire)
                }
                for index in position + 1...position + count { wire.append(bytes[index]) }
                position += 1 + count
            case 0xC0:
                guard allowCompression else { throw .unexpectedPointer(at: position) }
                guard position + 1 < end else { throw .truncated(at: position) }
                let target = Int(length & 0x3F) << 8 | Int(bytes[position + 1])
                guard target < position else { throw .forwardPointer(at: position) }
                hops += 1
                guard hops <= Self.maxPointerHops else { throw .pointerLoop(at: position) }
                if resumeAt == nil { resumeAt = position + 2 }
                end = position
                position = target
            default:
                throw .reservedLabelType(at: position)
            }
        }
    }

    /// Skips a possibly compressed name without building it, with the same checks on the bytes it passes.
    package mutating func skipName() throws(WireError) {
        var total = 0
        while true {
            guard offset < limit else { throw .truncated(at: offset) }
            let length = bytes[offset]
            switch length & 0xC0 {
            case 0x00:
                let count = Int(length)
                guard limit - offset >= 1 + count else { throw .truncated(at: offset) }
                total += 1 + count
                guard total <= 255 else { throw .nameTooLong(at: offset) }
                offset += 1 + count
                if count == 0 { return }
            case 0xC0:
                guard limit - offset >= 2 else { throw .truncated(at: offset) }
                let target = Int(length & 0x3F) << 8 | Int(bytes[offset + 1])
                guard target < offset else { throw .forwardPointer(at: offset) }
                offset += 2
                return
            default:
                throw .reservedLabelType(at: offset)
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
