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
