import DNSWire

/// Encodes a response into a caller-owned buffer, fitting it to the transport.
///
/// RFC 2181 §9: RRsets are never split. When the answer or authority section does not fit, the
/// response carries no records and sets TC so the client retries over TCP; additional RRsets that
/// do not fit are left out without TC, since the client can look them up itself. The additional
/// section is filled as far as it goes: a set that does not fit is skipped and smaller ones after
/// it still go in (Knot does the same), so a large SRV answer carries as much glue as it can.
///
/// Over TCP (`partialAnswers`) there is no larger transport to retry on: an answer past 64 KiB
/// carries the records of its last set that fit, in its (rotated) order, with TC set.
package enum ResponseWriter {
    /// What went into the message.
    package struct Written: Equatable {
        package var truncated: Bool
        /// Which of the resolution's additional sets were included (by index), in order.
        package var additionalsIncluded: [Int]
        /// With `truncated`: the answer section holds the records that fit (TCP past 64 KiB).
        package var partialAnswer = false
    }

    /// Size of an OPT record with no options: root name, type, class, TTL, RDLENGTH.
    private static let optSize = 11

    /// Writes a response to `query`.
    ///
    /// - Parameters:
    ///   - limit: the largest message the transport may carry (see `ResponsePolicy.udpLimit`).
    ///   - advertisedPayload: the UDP payload size our OPT announces (`--udp-max-payload`).
    ///   - recursionAvailable: set RA (forwarded answers; RFC 1035 §4.1.1).
    ///   - tsig: a TSIG record to end the message with (RFC 8945 §5.1: last in the additional section).
    package static func write(
        query header: Header, question: Question?, clientEDNS: EDNS?, rcode: RCode, authoritative: Bool,
        recursionAvailable: Bool = false, answers: [AnswerRRSet] = [], authorities: [AnswerRRSet] = [],
        additionals: [AnswerRRSet] = [], limit: Int, advertisedPayload: UInt16 = EDNS.defaultUDPMaxPayload,
        tsig: TSIG? = nil, partialAnswers: Bool = false, into writer: inout WireWriter
    ) -> Written {
        writer.beginMessage()
        let start = writer.messageStart
        var flags = Header(id: header.id)
        flags.isResponse = true
        flags.opcode = header.opcode
        flags.authoritative = authoritative
        // RD is echoed (RFC 1035 §4.1.1). CD is not: it asks a validating resolver to skip its checks
        // (RFC 4035 §3.2.2), and Beacon validates nothing; Knot clears it in every reply too.
        flags.recursionDesired = header.recursionDesired
        flags.recursionAvailable = recursionAvailable
        flags.rcodeLow = UInt8(rcode.rawValue & 0xF)
        writer.writeHeader(flags, SectionCounts(questions: question == nil ? 0 : 1))
        if let question { writer.writeQuestion(question, compress: false) }
        let afterQuestion = writer.checkpoint()
        let budget = limit - (clientEDNS == nil ? 0 : optSize)
        var written = Written(truncated: false, additionalsIncluded: [])

        var answerCount = 0
        var authorityCount = 0
        var fits = true
        var overflowing: AnswerRRSet? = nil
        for set in answers where fits {
            fits = write(set, into: &writer, budget: budget, start: start, count: &answerCount)
            if !fits { overflowing = set }
        }
        if let overflowing, partialAnswers {
            writeRecords(of: overflowing, into: &writer, budget: budget, start: start, count: &answerCount)
            written.partialAnswer = true
        }
        for set in authorities where fits {
            fits = write(set, into: &writer, budget: budget, start: start, count: &authorityCount)
        }
        var additionalCount = 0
        if written.partialAnswer {
            written.truncated = true
            flags.truncated = true
            writer.setUInt16(flags.flags, at: start + 2)
        } else if fits {
            for (index, set) in additionals.enumerated()
            where write(set, into: &writer, budget: budget, start: start, count: &additionalCount) {
                written.additionalsIncluded.append(index)
            }
        } else {
            writer.rollback(to: afterQuestion)
            answerCount = 0
            authorityCount = 0
            written.truncated = true
            flags.truncated = true
            writer.setUInt16(flags.flags, at: start + 2)
        }
        if let clientEDNS {
            // RFC 3225 §3: the DO bit is copied into the response.
            let opt = EDNS(
                udpPayloadSize: advertisedPayload, extendedRCodeHigh: UInt8(truncatingIfNeeded: rcode.rawValue >> 4),
                version: 0, flags: clientEDNS.flags & 0x8000)
            try? writer.writeRecord(opt.record)
            additionalCount += 1
        }
        if let tsig {
            // Written whole, its owner uncompressed too: it is what a client's TSIG code reads first.
            let record = tsig.record
            writer.writeName(record.name, compress: false)
            writer.writeUInt16(record.type.rawValue)
            writer.writeUInt16(record.rrClass.rawValue)
            writer.writeUInt32(record.ttl)
            try? writer.writeRData(record.rdata)
            additionalCount += 1
        }
        writer.setUInt16(UInt16(answerCount), at: start + 6)
        writer.setUInt16(UInt16(authorityCount), at: start + 8)
        writer.setUInt16(UInt16(additionalCount), at: start + 10)
        return written
    }

    /// Writes the records of `set` in order while each fits in `budget`.
    private static func writeRecords(
        of set: AnswerRRSet, into writer: inout WireWriter, budget: Int, start: Int, count: inout Int
    ) {
        for rdata in set.rdatas where count < 0xFFFF {
            let checkpoint = writer.checkpoint()
            do throws(WireError) {
                try writer.writeRecord(ResourceRecord(name: set.name, type: set.type, ttl: set.ttl, rdata: rdata))
            } catch {
                writer.rollback(to: checkpoint)
                return
            }
            guard writer.count - start <= budget else {
                writer.rollback(to: checkpoint)
                return
            }
            count += 1
        }
    }

    /// Writes every record of `set`, or nothing if the message would pass `budget`.
    private static func write(
        _ set: AnswerRRSet, into writer: inout WireWriter, budget: Int, start: Int, count: inout Int
    ) -> Bool {
        let checkpoint = writer.checkpoint()
        for rdata in set.rdatas {
            do throws(WireError) {
                try writer.writeRecord(
                    ResourceRecord(name: set.name, type: set.type, ttl: set.ttl, rdata: rdata))
            } catch {
                writer.rollback(to: checkpoint)
                return false
            }
        }
        guard writer.count - start <= budget, count + set.rdatas.count <= 0xFFFF else {
            writer.rollback(to: checkpoint)
            return false
        }
        count += set.rdatas.count
        return true
    }
}
