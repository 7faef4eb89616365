/// Why a DNS message could not be decoded or encoded.
///
/// Payloads are byte offsets into the buffer being read, so building one allocates nothing. Offsets
/// are `Int32` rather than `Int` to keep the enum within two words (with `Int`, the `type:` payload
/// plus an `Int` plus the case tag took 17 bytes, stride 24); a DNS message is at most 65535 octets
/// (RFC 1035 §4.2.2), so nothing is lost.
package enum WireError: Error, Equatable, Sendable {
    /// Fewer bytes remain than the field at `at` needs.
    case truncated(at: Int32)
    /// A label longer than 63 octets (RFC 1035 §2.3.4). The decoder never sees one: a length octet
    /// above 63 has a top bit set and is reported as `reservedLabelType`; this is for encoders.
    case labelTooLong(at: Int32)
    /// A name longer than 255 octets in wire form (RFC 1035 §2.3.4); `at` is where the name starts.
    case nameTooLong(at: Int32)
    /// A compression pointer at `at` that does not point strictly backward (RFC 1035 §4.1.4 speaks of
    /// "a prior occurance of the same name").
    case forwardPointer(at: Int32)
    /// Compression pointers that loop: `at` is the pointer the name would follow a second time (a
    /// pointer to itself, a cycle back to a pointer already followed, or a name reached through a
    /// pointer that runs into that pointer), or the pointer beyond `WireReader.maxPointerHops`.
    case pointerLoop(at: Int32)
    /// A label type 0x40 or 0x80 (RFC 6891 §5 retired extended labels).
    case reservedLabelType(at: Int32)
    /// RDLENGTH disagrees with the RDATA its type defines; `at` is where the RDATA starts.
    case badRDataLength(type: UInt16, at: Int32)
    /// A TXT character-string or an EDNS option overruns its RDATA; `at` is where that item starts.
    case badRDataContent(type: UInt16, at: Int32)
    /// A message or RDATA that would exceed 65535 octets.
    case messageTooLong
    /// A compression pointer where none may appear (for example inside a question sent by a client).
    case unexpectedPointer(at: Int32)

    /// The offset the error points at, if it has one.
    package var offset: Int? {
        switch self {
        case .truncated(let at), .labelTooLong(let at), .nameTooLong(let at), .forwardPointer(let at),
            .pointerLoop(let at), .reservedLabelType(let at), .badRDataLength(_, let at),
            .badRDataContent(_, let at), .unexpectedPointer(let at):
            Int(at)
        case .messageTooLong:
            nil
        }
    }
}

/// An offset as `WireError` carries it.
@inline(__always)
package func wireOffset(_ offset: Int) -> Int32 { Int32(clamping: offset) }
