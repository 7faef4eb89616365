/// The fixed 12-octet message header (RFC 1035 §4.1.1).
///
/// Flags are kept as the raw 16-bit word so that bits this code does not interpret (Z, AD, CD)
/// survive a round trip.
package struct Header: Equatable, Sendable {
    package static let size = 12

    package var id: UInt16
    package var flags: UInt16

    package init(id: UInt16 = 0, flags: UInt16 = 0) {
        self.id = id
        self.flags = flags
    }

    private static let qrBit: UInt16 = 0x8000
    private static let aaBit: UInt16 = 0x0400
    private static let tcBit: UInt16 = 0x0200
    private static let rdBit: UInt16 = 0x0100
    private static let raBit: UInt16 = 0x0080
    private static let adBit: UInt16 = 0x0020
    private static let cdBit: UInt16 = 0x0010

    private mutating func set(_ bit: UInt16, _ on: Bool) {
        if on { flags |= bit } else { flags &= ~bit }
    }

    /// QR: this message is a response.
    package var isResponse: Bool {
        get { flags & Self.qrBit != 0 }
        set { set(Self.qrBit, newValue) }
    }
    package var opcode: Opcode {
        get { Opcode(UInt8((flags >> 11) & 0xF)) }
        set { flags = (flags & ~0x7800) | (UInt16(newValue.rawValue & 0xF) << 11) }
    }
    /// AA: the answer comes from an authority for the zone.
    package var authoritative: Bool {
        get { flags & Self.aaBit != 0 }
        set { set(Self.aaBit, newValue) }
    }
    /// TC: the message was truncated to fit the transport.
    package var truncated: Bool {
        get { flags & Self.tcBit != 0 }
        set { set(Self.tcBit, newValue) }
    }
    package var recursionDesired: Bool {
        get { flags & Self.rdBit != 0 }
        set { set(Self.rdBit, newValue) }
    }
    package var recursionAvailable: Bool {
        get { flags & Self.raBit != 0 }
        set { set(Self.raBit, newValue) }
    }
    package var authenticData: Bool {
        get { flags & Self.adBit != 0 }
        set { set(Self.adBit, newValue) }
    }
    package var checkingDisabled: Bool {
        get { flags & Self.cdBit != 0 }
        set { set(Self.cdBit, newValue) }
    }
    /// The low four bits of the RCODE; an OPT record carries the rest.
    package var rcodeLow: UInt8 {
        get { UInt8(flags & 0xF) }
        set { flags = (flags & ~0xF) | UInt16(newValue & 0xF) }
    }
}

/// The four section counts that follow the ID and flags.
package struct SectionCounts: Equatable, Sendable {
    package var questions: UInt16
    package var answers: UInt16
    package var authorities: UInt16
    package var additionals: UInt16

    package init(questions: UInt16 = 0, answers: UInt16 = 0, authorities: UInt16 = 0, additionals: UInt16 = 0) {
        self.questions = questions
        self.answers = answers
        self.authorities = authorities
        self.additionals = additionals
    }
}

extension WireReader {
    package mutating func readHeader() throws(WireError) -> (Header, SectionCounts) {
        let header = Header(id: try readUInt16(), flags: try readUInt16())
        let counts = SectionCounts(
            questions: try readUInt16(), answers: try readUInt16(), authorities: try readUInt16(),
            additionals: try readUInt16())
        return (header, counts)
    }
}

extension WireWriter {
    package mutating func writeHeader(_ header: Header, _ counts: SectionCounts) {
        writeUInt16(header.id)
        writeUInt16(header.flags)
        writeUInt16(counts.questions)
        writeUInt16(counts.answers)
        writeUInt16(counts.authorities)
        writeUInt16(counts.additionals)
    }
}
