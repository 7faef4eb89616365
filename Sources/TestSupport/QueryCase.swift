import DNSWire

/// One row of a query table (STYLE 3.4 #14c, after CoreDNS `test.Case`): a question and the
/// response it must get, section by section.
///
/// Records compare with `ResourceRecord ==` (names ignore ASCII case, TTLs exact) and in order;
/// the OPT pseudo-record is left out of `additional` (tests of EDNS check it on its own).
package struct QueryCase: Sendable, CustomStringConvertible {
    package var qname: String
    package var qtype: RRType
    package var qclass: RRClass
    package var rcode: RCode
    /// The AA bit.
    package var aa: Bool
    package var answer: [ResourceRecord]
    package var authority: [ResourceRecord]
    package var additional: [ResourceRecord]
    /// Why the row expects what it does (an RFC section, a contract line), shown when it fails.
    package var note: String

    package init(
        qname: String, qtype: RRType, qclass: RRClass = .in, rcode: RCode = .noError, aa: Bool = true,
        answer: [ResourceRecord] = [], authority: [ResourceRecord] = [], additional: [ResourceRecord] = [],
        note: String = ""
    ) {
        self.qname = qname
        self.qtype = qtype
        self.qclass = qclass
        self.rcode = rcode
        self.aa = aa
        self.answer = answer
        self.authority = authority
        self.additional = additional
        self.note = note
    }

    package var description: String { "\(qname) \(qclass) \(qtype)" + (note.isEmpty ? "" : " (\(note))") }

    /// The query for this row.
    package func query(id: UInt16 = 0xBEAC, edns: EDNS? = nil) -> DNSQuery {
        DNSQuery(qname, qtype, rrClass: qclass, id: id, edns: edns)
    }

    /// Every way `response` differs from the row, as readable lines; empty when it matches.
    package func mismatches(in response: Message, id: UInt16 = 0xBEAC) -> [String] {
        var problems: [String] = []
        if response.header.id != id { problems.append("ID \(response.header.id), expected \(id)") }
        if !response.header.isResponse { problems.append("QR clear") }
        if response.header.truncated { problems.append("TC set") }
        if response.rcode != rcode { problems.append("RCODE \(response.rcode), expected \(rcode)") }
        if response.header.authoritative != aa {
            problems.append("AA \(response.header.authoritative), expected \(aa)")
        }
        let question = Question(name: dnsName(qname), type: qtype, rrClass: qclass)
        if response.questions != [question] { problems.append("question \(response.questions), expected \(question)") }
        problems += Self.compare("answer", response.answers, answer)
        problems += Self.compare("authority", response.authorities, authority)
        problems += Self.compare("additional", response.additionals.filter { $0.type != .opt }, additional)
        return problems
    }

    private static func compare(_ section: String, _ got: [ResourceRecord], _ expected: [ResourceRecord]) -> [String] {
        guard got != expected else { return [] }
        func lines(_ records: [ResourceRecord]) -> String {
            records.isEmpty ? "(none)" : records.map { "\n    \($0)" }.joined()
        }
        return ["\(section) section:\n  got \(lines(got))\n  expected \(lines(expected))"]
    }
}
