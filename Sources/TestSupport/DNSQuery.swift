import DNSWire

/// A query as a client would send it, built with DNSWire's `Message` so that tests start from bytes.
///
/// `bytes` is the whole message. Header fields that `Message` cannot express (a QDCOUNT that
/// disagrees with the question list, a pointer in the question) are made by patching the bytes:
/// see `settingUInt16(_:at:)`.
package struct DNSQuery: Sendable {
    package var id: UInt16
    package var name: DomainName
    package var type: RRType
    package var rrClass: RRClass
    package var recursionDesired: Bool
    package var checkingDisabled: Bool
    package var opcode: Opcode
    package var isResponse: Bool
    /// An OPT record to add (RFC 6891), or nil for a query without EDNS.
    package var edns: EDNS?
    /// Further additional records (a second OPT, say), after `edns`.
    package var extraAdditionals: [ResourceRecord]

    package init(
        _ name: String, _ type: RRType, rrClass: RRClass = .in, id: UInt16 = 0xBEAC, recursionDesired: Bool = true,
        checkingDisabled: Bool = false, opcode: Opcode = .query, isResponse: Bool = false, edns: EDNS? = nil,
        extraAdditionals: [ResourceRecord] = []
    ) {
        self.id = id
        self.name = dnsName(name)
        self.type = type
        self.rrClass = rrClass
        self.recursionDesired = recursionDesired
        self.checkingDisabled = checkingDisabled
        self.opcode = opcode
        self.isResponse = isResponse
        self.edns = edns
        self.extraAdditionals = extraAdditionals
    }

    package var message: Message {
        var header = Header(id: id)
        header.recursionDesired = recursionDesired
        header.checkingDisabled = checkingDisabled
        header.opcode = opcode
        header.isResponse = isResponse
        return Message(
            header: header, questions: [Question(name: name, type: type, rrClass: rrClass)],
            additionals: (edns.map { [$0.record] } ?? []) + extraAdditionals)
    }

    package var bytes: [UInt8] {
        do {
            return try message.encode()
        } catch {
            preconditionFailure("DNSQuery: cannot encode \(name): \(error)")
        }
    }

    /// The offset just past the question (the header is 12 bytes; the question name is uncompressed).
    package var questionEnd: Int { Header.size + name.wire.count + 4 }
}

extension Array where Element == UInt8 {
    /// A copy with the big-endian 16-bit value at `offset` replaced (a header count, say: QDCOUNT is at 4).
    package func settingUInt16(_ value: UInt16, at offset: Int) -> [UInt8] {
        var copy = self
        copy[offset] = UInt8(truncatingIfNeeded: value >> 8)
        copy[offset + 1] = UInt8(truncatingIfNeeded: value)
        return copy
    }

    /// The big-endian 16-bit value at `offset`.
    package func uint16(at offset: Int) -> UInt16 { UInt16(self[offset]) << 8 | UInt16(self[offset + 1]) }
}
