/// A whole DNS message: header and the four sections (RFC 1035 §4.1).
///
/// Section counts are not stored: they are the array lengths, written on encode. Bytes after the
/// last counted record are ignored on decode, as most resolvers do.
package struct Message: Equatable, Sendable {
    package var header: Header
    package var questions: [Question]
    package var answers: [ResourceRecord]
    package var authorities: [ResourceRecord]
    package var additionals: [ResourceRecord]

    package init(
        header: Header = Header(), questions: [Question] = [], answers: [ResourceRecord] = [],
        authorities: [ResourceRecord] = [], additionals: [ResourceRecord] = []
    ) {
        self.header = header
        self.questions = questions
        self.answers = answers
        self.authorities = authorities
        self.additionals = additionals
    }

    /// Decodes a message, following compression pointers.
    /// - Throws: `WireError` with the offset of the first malformed field.
    package static func decode(_ bytes: [UInt8]) throws(WireError) -> Message {
        try withWireReader(bytes) { (reader: inout WireReader) throws(WireError) in try decode(from: &reader) }
    }

    package static func decode(from reader: inout WireReader) throws(WireError) -> Message {
        let (header, counts) = try reader.readHeader()
        var message = Message(header: header)
        // Each entry needs at least 5 (question) or 11 (record) bytes: an impossible count fails
        // here rather than reserving space for it.
        let minimum = Int(counts.questions) * 5
            + (Int(counts.answers) + Int(counts.authorities) + Int(counts.additionals)) * 11
        guard minimum <= reader.remaining else { throw .truncated(at: wireOffset(reader.offset)) }
        for _ in 0..<counts.questions { message.questions.append(try reader.readQuestion()) }
        for _ in 0..<counts.answers { message.answers.append(try reader.readRecord()) }
        for _ in 0..<counts.authorities { message.authorities.append(try reader.readRecord()) }
        for _ in 0..<counts.additionals { message.additionals.append(try reader.readRecord()) }
        return message
    }

    /// Encodes with name compression into a new buffer.
    package func encode() throws(WireError) -> [UInt8] {
        var writer = WireWriter(capacity: 512)
        try encode(into: &writer)
        return writer.bytes
    }

    /// Appends the message to `writer`, starting a new compression context.
    package func encode(into writer: inout WireWriter) throws(WireError) {
        guard questions.count <= 0xFFFF, answers.count <= 0xFFFF, authorities.count <= 0xFFFF,
            additionals.count <= 0xFFFF
        else { throw .messageTooLong }
        writer.beginMessage()
        writer.writeHeader(
            header,
            SectionCounts(
                questions: UInt16(questions.count), answers: UInt16(answers.count),
                authorities: UInt16(authorities.count), additionals: UInt16(additionals.count)))
        for question in questions { writer.writeQuestion(question) }
        for record in answers { try writer.writeRecord(record) }
        for record in authorities { try writer.writeRecord(record) }
        for record in additionals { try writer.writeRecord(record) }
        guard writer.count - writer.messageStart <= 0xFFFF else { throw .messageTooLong }
    }

    /// The EDNS(0) pseudo-record, if the message carries one.
    package var edns: EDNS? {
        for record in additionals where record.type == .opt { return EDNS(record: record) }
        return nil
    }

    /// The full RCODE: the header's four bits plus the OPT record's upper eight (RFC 6891 §6.1.3).
    package var rcode: RCode {
        RCode(UInt16(edns?.extendedRCodeHigh ?? 0) << 4 | UInt16(header.rcodeLow))
    }
}
