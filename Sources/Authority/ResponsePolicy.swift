import DNSWire

/// A query that passed the header and question checks, with what the response must echo.
package struct ParsedQuery {
    package var header: Header
    package var question: Question
    /// The question's bytes end here (it starts at offset 12): echoed as received, 0x20 case included.
    package var questionEnd: Int
    /// The client's OPT, if it sent one.
    package var edns: EDNS?
}

/// The single place that decides whether and how to answer a message before any lookup.
package enum ResponsePolicy {
    package enum Decision {
        /// Send nothing: too short to carry a header, or a response (QR set) that must not be answered.
        case drop
        /// Answer with this RCODE and no data. `query` holds whatever was readable, for the echo.
        case error(RCode, header: Header, question: Question?, questionEnd: Int, edns: EDNS?)
        /// Look the question up.
        case query(ParsedQuery)
        /// A query signed with TSIG (RFC 8945). Beacon holds no keys, so every key is unknown to it:
        /// NOTAUTH with an unsigned TSIG record carrying error BADKEY (§5.2.1).
        case badKey(ParsedQuery, TSIG)
    }

    /// Reads the header first and drops junk without a reply; then the question and any OPT record.
    ///
    /// RFC 1035 §4.1.1: opcodes other than QUERY get NOTIMP. RFC 6891 §6.1.1: more than one OPT is
    /// FORMERR; §6.1.3: an EDNS version we do not speak gets BADVERS. QDCOUNT other than 1 is FORMERR.
    /// RFC 8945 §5.1: a TSIG record anywhere but last in the additional section is FORMERR; §5.2: a
    /// signed query is checked before anything else is done with it, so it gets BADKEY first.
    package static func decide(_ bytes: UnsafeRawBufferPointer) -> Decision {
        var reader = WireReader(bytes)
        guard let (header, counts) = try? reader.readHeader(), !header.isResponse else { return .drop }
        // RFC 6891 §7: "If an OPT record is present in a received request, compliant responders MUST
        // include an OPT record in their respective responses", errors from the header included.
        guard header.opcode == .query else {
            // Any reply echoes the question (CONTRACT); a NOTIFY or an UPDATE's zone section reads as one.
            var questionReader = reader
            let question = counts.questions == 1 ? try? readQuestion(&questionReader) : nil
            return .error(
                .notImp, header: header, question: question,
                questionEnd: question == nil ? Header.size : questionReader.offset,
                edns: findEDNS(bytes, counts: counts))
        }
        guard counts.questions == 1 else {
            return .error(
                .formErr, header: header, question: nil, questionEnd: Header.size,
                edns: findEDNS(bytes, counts: counts))
        }
        let question: Question
        do throws(WireError) {
            question = try readQuestion(&reader)
        } catch {
            return .error(.formErr, header: header, question: nil, questionEnd: Header.size, edns: nil)
        }
        let questionEnd = reader.offset
        let additionals: Additionals
        do throws(WireError) {
            additionals = try readAdditionals(&reader, counts: counts)
        } catch {
            return .error(.formErr, header: header, question: question, questionEnd: questionEnd, edns: nil)
        }
        let edns = additionals.edns
        if let tsig = additionals.tsig {
            return .badKey(ParsedQuery(header: header, question: question, questionEnd: questionEnd, edns: edns), tsig)
        }
        if let version = edns?.version, version > 0 {
            return .error(.badVers, header: header, question: question, questionEnd: questionEnd, edns: edns)
        }
        if question.type == .opt {
            return .error(.formErr, header: header, question: question, questionEnd: questionEnd, edns: edns)
        }
        if question.type == .axfr || question.type == .ixfr {
            return .error(.refused, header: header, question: question, questionEnd: questionEnd, edns: edns)
        }
        return .query(ParsedQuery(header: header, question: question, questionEnd: questionEnd, edns: edns))
    }

    private static func readQuestion(_ reader: inout WireReader) throws(WireError) -> Question {
        // A pointer in the first name of a message can only point into the header.
        Question(
            name: try reader.readName(allowCompression: false), type: RRType(try reader.readUInt16()),
            rrClass: RRClass(try reader.readUInt16()))
    }

    /// The pseudo-records of a query's additional section.
    private struct Additionals {
        var edns: EDNS? = nil
        var tsig: TSIG? = nil
    }

    /// Reads the answer, authority and additional sections after the question for the OPT and TSIG
    /// records.
    /// - Throws: when a section is malformed, holds a second OPT or one not owned by the root
    ///   (RFC 6891 §6.1.1: FORMERR), or a TSIG anywhere but last in the additional section (RFC 8945
    ///   §5.1: FORMERR).
    private static func readAdditionals(_ reader: inout WireReader, counts: SectionCounts) throws(WireError)
        -> Additionals
    {
        var found = Additionals()
        for _ in 0..<(Int(counts.answers) + Int(counts.authorities)) {
            let start = reader.offset
            guard try skipRecord(&reader) != .tsig else {
                throw .badRDataContent(type: RRType.tsig.rawValue, at: wireOffset(start))
            }
        }
        for index in 0..<Int(counts.additionals) {
            let start = reader.offset
            var recordReader = reader
            switch try skipRecord(&reader) {
            case .opt:
                let record = try recordReader.readRecord()
                guard found.edns == nil, record.name.isRoot, let parsed = EDNS(record: record) else {
                    throw .badRDataContent(type: RRType.opt.rawValue, at: wireOffset(start))
                }
                found.edns = parsed
            case .tsig:
                guard index == Int(counts.additionals) - 1 else {
                    throw .badRDataContent(type: RRType.tsig.rawValue, at: wireOffset(start))
                }
                found.tsig = try recordReader.readTSIG()
            default:
                continue
            }
        }
        return found
    }

    /// Skips one record, checking that it fits.
    /// - Returns: its TYPE.
    private static func skipRecord(_ reader: inout WireReader) throws(WireError) -> RRType {
        try reader.skipName()
        let type = RRType(try reader.readUInt16())
        try reader.skip(6)
        try reader.skip(Int(try reader.readUInt16()))
        return type
    }

    /// The OPT of a message refused from its header alone, when the rest still reads cleanly
    /// (nil otherwise: the response then goes without one, as for any FORMERR).
    private static func findEDNS(_ bytes: UnsafeRawBufferPointer, counts: SectionCounts) -> EDNS? {
        guard counts.additionals > 0 else { return nil }
        var reader = WireReader(bytes, offset: Header.size)
        do throws(WireError) {
            for _ in 0..<counts.questions {
                try reader.skipName()
                try reader.skip(4)
            }
            return try readAdditionals(&reader, counts: counts).edns
        } catch {
            return nil
        }
    }

    /// The most a UDP response may carry: 512 without EDNS (RFC 1035 §4.2.1), else the client's
    /// payload size (at least 512) capped at `maximum` (`--udp-max-payload`, as Knot's
    /// `udp-max-payload`) and at what one IPv4 datagram holds.
    package static func udpLimit(for edns: EDNS?, maximum: Int) -> Int {
        guard let edns else { return 512 }
        return udpLimit(clientPayload: Int(edns.udpPayloadSize), maximum: maximum)
    }

    /// `udpLimit(for:maximum:)` from the payload size an OPT record gave.
    @inline(__always)
    package static func udpLimit(clientPayload: Int, maximum: Int) -> Int {
        min(max(clientPayload, Int(EDNS.minimumPayloadSize)), maximum, EDNS.largestUDPDatagram)
    }
}
