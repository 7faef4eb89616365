import FuzzSupport
import DNSWire
import Testing

/// Tallies of one corpus replay.
private struct ReplayTally {
    var fixedPoints = 0
    var tooLongToReencode = 0
    var rejected: [String: WireError] = [:]
    var broken: [(file: String, reason: String)] = []

    init(_ messages: [(name: String, bytes: [UInt8])]) {
        for (file, bytes) in messages {
            switch roundTripOutcome(bytes) {
            case .fixedPoint: fixedPoints += 1
            case .tooLongToReencode: tooLongToReencode += 1
            case .rejected(let error): rejected[file] = error
            case .broken(let reason): broken.append((file, reason))
            }
        }
    }

    var decoded: Int { fixedPoints + tooLongToReencode + broken.count }
}

@Suite("Corpus replay: real messages decode without trapping and round-trip")
struct CorpusReplayTests {
    /// The messages of the shared corpus that are rightly rejected.
    ///
    /// `cz.nic-*` are fuzzer-made files in CZ-NIC's seed collection; dnspython 2.x rejects every
    /// one of them as well (FormError, BadPointer or BadLabelType). `seed-737603` is empty. Every
    /// other message, including the RFC 2136 UPDATEs with empty RDATA, must decode.
    static let expectedSharedRejects: [String: WireError] = [
        "cz.nic-1.pkt": .truncated(at: 12), "cz.nic-2.pkt": .truncated(at: 12), "cz.nic-4.pkt": .truncated(at: 12),
        "cz.nic-5.pkt": .truncated(at: 12), "cz.nic-6.pkt": .truncated(at: 12),
        "cz.nic-7.pkt": .badRDataLength(type: 26, at: 127), "cz.nic-8.pkt": .truncated(at: 12),
        "cz.nic-9.pkt": .truncated(at: 12), "cz.nic-10.pkt": .truncated(at: 12), "cz.nic-11.pkt": .truncated(at: 12),
        "cz.nic-12.pkt": .truncated(at: 12), "cz.nic-13.pkt": .truncated(at: 12),
        "cz.nic-14.pkt": .truncated(at: 12), "cz.nic-15.pkt": .truncated(at: 12),
        "cz.nic-16.pkt": .truncated(at: 12), "cz.nic-17.pkt": .truncated(at: 12),
        "cz.nic-18.pkt": .truncated(at: 12), "cz.nic-19.pkt": .pointerLoop(at: 44),
        "cz.nic-20.pkt": .truncated(at: 3913), "cz.nic-21.pkt": .reservedLabelType(at: 92),
        "cz.nic-22.pkt": .truncated(at: 12), "seed-737603.pkt": .truncated(at: 0),
    ]

    @Test(
        .enabled(
            if: Corpus.sharedDirectory != nil,
            "shared corpus not found (set BEACON_DNS_CORPUS, or check out beside ../shared/corpus/dns-packets)"))
    func everySharedCorpusMessageDecodesOrIsAKnownReject() throws {
        let directory = try #require(Corpus.sharedDirectory)
        let messages = Corpus.messages(in: directory)
        #expect(messages.count >= 9_000, "expected the full corpus in \(directory)")
        let tally = ReplayTally(messages)
        print(
            "shared corpus: \(messages.count) messages, \(tally.decoded) decoded (\(tally.fixedPoints) fixed points,"
                + " \(tally.tooLongToReencode) too long to re-encode), \(tally.rejected.count) rejected")
        for (file, reason) in tally.broken { Issue.record("\(file): \(reason)") }
        for (file, error) in tally.rejected.sorted(by: { $0.key < $1.key }) {
            #expect(Self.expectedSharedRejects[file] == error, "\(file) rejected with \(error)")
        }
        let missing = Set(Self.expectedSharedRejects.keys).subtracting(tally.rejected.keys)
        #expect(missing.isEmpty, "known-bad messages now decode: \(missing.sorted())")
    }

    @Test func everyCommittedCorpusMessageDecodesOrIsAKnownReject() {
        let messages = Corpus.committed
        #expect(messages.count == 206, "the committed subset in \(Corpus.committedDirectory)")
        let tally = ReplayTally(messages)
        print(
            "committed corpus: \(messages.count) messages, \(tally.decoded) decoded,"
                + " \(tally.rejected.count) rejected")
        for (file, reason) in tally.broken { Issue.record("\(file): \(reason)") }
        #expect(tally.fixedPoints == 202)
        #expect(
            tally.rejected == [
                "cz.nic-7.pkt": .badRDataLength(type: 26, at: 127), "cz.nic-19.pkt": .pointerLoop(at: 44),
                "cz.nic-21.pkt": .reservedLabelType(at: 92), "seed-737603.pkt": .truncated(at: 0),
            ])
    }

    @Test func committedCorpusReplaysThroughTheFuzzEntryPoint() {
        // The libFuzzer body traps on any round-trip failure; here it must return for every input.
        for (_, bytes) in Corpus.committed { fuzzMessage(bytes) }
        #expect(!Corpus.committed.isEmpty)
    }

    @Test func rfc2136UpdatesFromBINDWithEmptyRDataDecode() throws {
        // Prerequisite "name is in use" style records: CLASS ANY, TTL 0, RDLENGTH 0 (RFC 2136 §2.4.1).
        // These were rejected as badRDataLength / truncated before empty RDATA was allowed.
        for file in ["bind-systemtest-11e0af2a136f.pkt", "bind-systemtest-394367120815.pkt"] {
            let bytes = try #require(Corpus.committed.first { $0.name == file }?.bytes, "\(file) is committed")
            let message = try Message.decode(bytes)
            #expect(message.header.opcode == .update)
            let emptyRecords = (message.answers + message.authorities).filter { $0.rdata == .unknown([]) }
            #expect(emptyRecords.count == 1 && emptyRecords[0].rrClass == .any, "\(file)")
        }
    }

    @Test func rfc3597CompressedMGMRAndMINFONamesFromBINDDecompress() throws {
        // BIND compresses the names in these RFC 1035 types; each file's RDATA holds pointers.
        let expectations: [(file: String, type: RRType)] = [
            ("bind-systemtest-77888358ab4b.pkt", RRType(8)), ("bind-systemtest-90542823e3c1.pkt", RRType(9)),
            ("bind-systemtest-6333c5733de9.pkt", RRType(14)),
        ]
        for (file, type) in expectations {
            let bytes = try #require(Corpus.committed.first { $0.name == file }?.bytes, "\(file) is committed")
            let message = try Message.decode(bytes)
            let records = message.answers.filter { $0.type == type }
            #expect(!records.isEmpty, "\(file) has \(type) answers")
            for record in records {
                guard case .unknown(let rdata) = record.rdata else {
                    Issue.record("\(file): \(type) should be opaque")
                    continue
                }
                #expect(!rdata.contains { $0 & 0xC0 == 0xC0 }, "\(file): no pointer left in \(hexString(rdata))")
            }
        }
    }
}
