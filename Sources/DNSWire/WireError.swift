/// Why a DNS message could not be decoded or encoded.
///
/// Payloads are byte offsets into the message, so building one allocates nothing.
package enum WireError: Error, Equatable, Sendable {
    /// Fewer bytes remain than the field at `at` needs.
    case truncated(at: Int)
    /// A label longer than 63 octets (RFC 1035 §2.3.4).
    case labelTooLong(at: Int)
    /// A name longer than 255 octets in wire form (RFC 1035 §2.3.4).
    case nameTooLong(at: Int)
    /// A compression pointer that does not point strictly backward.
    case forwardPointer(at: Int)
    /// More compression pointers in one name than any legal name can need.
    case pointerLoop(at: Int)
    /// A label type 0x40 or 0x80 (RFC 6891 §5 retired extended labels).
    case reservedLabelType(at: Int)
    /// RDLENGTH disagrees with the RDATA its type defines.
    case badRDataLength(type: UInt16, at: Int)
    /// A TXT character-string or an EDNS option overruns its RDATA.
    case badRDataContent(type: UInt16, at: Int)
    /// A message or RDATA that would exceed 65535 octets.
    case messageTooLong
    /// A compression pointer where none may appear (for example inside a question sent by a client).
    case unexpectedPointer(at: Int)
}
