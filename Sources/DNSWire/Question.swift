/// A question-section entry (RFC 1035 §4.1.2).
package struct Question: Equatable, Hashable, Sendable, CustomStringConvertible {
    package var name: DomainName
    package var type: RRType
    package var rrClass: RRClass

    package init(name: DomainName, type: RRType, rrClass: RRClass = .in) {
        self.name = name
        self.type = type
        self.rrClass = rrClass
    }

    package var description: String { "\(name) \(rrClass) \(type)" }
}

extension WireReader {
    package mutating func readQuestion() throws(WireError) -> Question {
        let name = try readName()
        return Question(name: name, type: RRType(try readUInt16()), rrClass: RRClass(try readUInt16()))
    }
}

extension WireWriter {
    package mutating func writeQuestion(_ question: Question, compress: Bool = true) {
        writeName(question.name, compress: compress)
        writeUInt16(question.type.rawValue)
        writeUInt16(question.rrClass.rawValue)
    }
}

extension Question {
    /// Where the first question of `message` ends (after its type and class), read without decoding
    /// the name; nil when the header or question is cut short or the name uses compression (a query's
    /// first name never may). For the transports, which need only the question's extent or type.
    package static func end(in message: UnsafeRawBufferPointer) -> Int? {
        var offset = 12
        while offset < message.count {
            let length = Int(message[offset])
            if length == 0 { return offset + 5 <= message.count ? offset + 5 : nil }
            guard length < 64 else { return nil }
            offset += 1 + length
        }
        return nil
    }

    /// The QTYPE of the first question of `message`, as `end(in:)` finds it.
    package static func type(in message: UnsafeRawBufferPointer) -> UInt16? {
        guard let end = end(in: message) else { return nil }
        return UInt16(message[end - 4]) << 8 | UInt16(message[end - 3])
    }
}
