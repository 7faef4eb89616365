import Primitives
import Journal
import Leases
import Testing

/// The record encoding: golden bytes both ways, round trips, bounds, and garbage.
@Suite struct JournalEntryTests {
    static let goldenSpec = InstanceSpec(
        service: "web", function: "api", id: "a1", address: .v4(0x0A00_0001), port: 8080, ttl: 30, priority: 1,
        weight: 2, meta: [MetaEntry(key: "k", value: "v")])

    /// The register payload of `goldenSpec`, written out by hand from the documented layout.
    static let goldenPayload: [UInt8] =
        [1, 1, 3] + Array("web".utf8) + [3] + Array("api".utf8) + [2] + Array("a1".utf8)
        + [4, 10, 0, 0, 1]  // family, address in network order
        + [0x90, 0x1F, 30, 0, 0, 0, 1, 0, 2, 0]  // port 8080, ttl 30, priority 1, weight 2
        + [1, 1] + Array("k".utf8) + [1] + Array("v".utf8)

    static func encoded(_ entry: JournalEntry) -> [UInt8] {
        var bytes: [UInt8] = []
        entry.encode(into: &bytes)
        return bytes
    }

    @Test func aRegistrationEncodesToTheDocumentedBytesAndDecodesBack() {
        #expect(Self.encoded(.register(Self.goldenSpec)) == Self.goldenPayload)
        #expect(JournalEntry.decode(Self.goldenPayload) == .register(Self.goldenSpec))
    }

    @Test func framesCarryTheLengthAndTheChecksumOfLengthAndPayload() {
        // CRC-32C values computed independently (a bitwise Python implementation).
        #expect(framed([.register(Self.goldenSpec)]) == [0x21, 0, 0, 0, 0x4B, 0xF0, 0x60, 0xFC] + Self.goldenPayload)
        #expect(framed([.deregister(id: "a1")]) == [0x05, 0, 0, 0, 0x3B, 0x15, 0xBB, 0x08, 1, 2, 2] + Array("a1".utf8))
    }

    @Test func everyKindOfEntryRoundTrips() {
        let maximalMeta = (0..<InstanceSpec.maximumMetaEntries).map { index in
            MetaEntry(key: "key\(index)", value: String(repeating: "é", count: 120))
        }
        let entries: [JournalEntry] = [
            .register(Self.goldenSpec),
            .register(makeSpec(3)),
            .register(makeSpec(4)),
            .register(
                InstanceSpec(
                    service: String(repeating: "s", count: 63), function: "f-1", id: "x", address: .v6(IPv6Address(high: .max, low: 1)),
                    port: 65_535, ttl: InstanceSpec.maximumTTL, priority: .max, weight: .max, meta: maximalMeta)),
            .deregister(id: "i42"),
            .snapshotHeader(generation: 0x0102_0304_0506_0708),
            .snapshotEnd(count: 1_000_000),
        ]
        for entry in entries {
            let bytes = Self.encoded(entry)
            #expect(JournalEntry.decode(bytes) == entry)
            var frame: [UInt8] = []
            Frame.append(entry, to: &frame)
            let check = frame.withUnsafeBytes { Frame.check($0) }
            guard case .frame(let decoded, let length) = check else {
                Issue.record("\(entry) did not survive framing: \(check)")
                continue
            }
            #expect(decoded == entry)
            #expect(length == frame.count)
        }
    }

    @Test func valuesOutsideTheContractsBoundsAreRefused() {
        let base = Self.goldenPayload
        func with(_ index: Int, _ value: UInt8) -> [UInt8] {
            var bytes = base
            bytes[index] = value
            return bytes
        }
        let portAt = 2 + 4 + 4 + 3 + 5
        let ttlAt = portAt + 2
        let cases: [(String, [UInt8])] = [
            ("unknown version", with(0, 2)),
            ("unknown kind", with(1, 9)),
            ("upper-case service", with(3, UInt8(ascii: "W"))),
            ("label with a dot", with(4, UInt8(ascii: "."))),
            ("unknown address family", with(portAt - 5, 5)),
            ("port 0", { var b = base; b.replaceSubrange(portAt..<portAt + 2, with: [0, 0]); return b }()),
            ("ttl 0", { var b = base; b.replaceSubrange(ttlAt..<ttlAt + 4, with: [0, 0, 0, 0]); return b }()),
            ("ttl 86401", { var b = base; b.replaceSubrange(ttlAt..<ttlAt + 4, with: [0x81, 0x51, 0x01, 0]); return b }()),
            ("'=' in a meta key", with(base.count - 3, UInt8(ascii: "="))),
            ("empty meta key", Array(base.dropLast(4)) + [0, 1] + Array("v".utf8)),
            ("repeated meta key", { var b = base; b[base.count - 5] = 2; return b + [1, UInt8(ascii: "k"), 0] }()),
            ("a trailing byte", base + [0]),
            ("invalid UTF-8 in a value", Array(base.dropLast(1)) + [0xFF]),
            ("empty payload", []),
        ]
        for (name, bytes) in cases {
            #expect(JournalEntry.decode(bytes) == nil, "\(name) decoded")
        }
        #expect(Self.encoded(.register(Self.goldenSpec)) == base)
    }

    @Test func everyTruncationOfAValidPayloadFailsToDecode() {
        let bytes = Self.encoded(.register(makeSpec(5)))
        for length in 0..<bytes.count {
            #expect(JournalEntry.decode(Array(bytes.prefix(length))) == nil, "prefix of \(length) bytes decoded")
        }
    }

    @Test func flippingAnyBitOfAFrameIsDetected() {
        let frame = framed([.register(makeSpec(7))])
        for index in 0..<frame.count {
            for bit in 0..<8 {
                var damaged = frame
                damaged[index] ^= 1 << UInt8(bit)
                let check = damaged.withUnsafeBytes { Frame.check($0) }
                if case .frame = check { Issue.record("bit \(bit) of byte \(index) flipped undetected") }
            }
        }
    }

    @Test func decodingRandomGarbageAndMutatedRecordsNeverTrapsAndIsAFixedPoint() {
        var generator = SeededGenerator(seed: 0x5EED)
        let corpus = [Self.goldenPayload] + (0..<20).map { Self.encoded(.register(makeSpec($0))) }
            + [Self.encoded(.deregister(id: "abc")), Self.encoded(.snapshotEnd(count: 3))]
        var decodedCount = 0
        for iteration in 0..<60_000 {
            var bytes: [UInt8]
            if iteration % 3 == 0 {
                bytes = (0..<Int.random(in: 0...300, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
                if bytes.count > 1, iteration % 2 == 0 { bytes[0] = 1; bytes[1] = UInt8.random(in: 1...2, using: &generator) }
            } else {
                bytes = corpus[Int.random(in: 0..<corpus.count, using: &generator)]
                for _ in 0..<Int.random(in: 1...4, using: &generator) where !bytes.isEmpty {
                    switch Int.random(in: 0..<4, using: &generator) {
                    case 0: bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
                    case 1: bytes.removeLast(Int.random(in: 0...min(8, bytes.count), using: &generator))
                    case 2: bytes.insert(UInt8.random(in: 0...255, using: &generator), at: Int.random(in: 0...bytes.count, using: &generator))
                    default: bytes[Int.random(in: 0..<bytes.count, using: &generator)] ^= 0x20
                    }
                }
            }
            guard let entry = JournalEntry.decode(bytes) else { continue }
            decodedCount += 1
            // Whatever decodes must be valid, so encoding it gives back exactly the same bytes.
            #expect(Self.encoded(entry) == bytes, "iteration \(iteration): decode→encode is not a fixed point")
            if case .register(let spec, _) = entry {
                #expect(LabelRules.normalize(spec.id) == spec.id)
                #expect(spec.port >= 1 && spec.ttl >= 1 && spec.ttl <= InstanceSpec.maximumTTL)
            }
        }
        #expect(decodedCount > 100, "the mutations should leave some records valid (e.g. a changed port)")
    }
}

extension JournalEntryTests {
    @Test func decodingAcceptsExactlyTheLabelsThatLabelRulesKeepsUnchanged() {
        var labels = ["a", "a-b", "0", "x1", String(repeating: "z", count: 63), String(repeating: "z", count: 64), "-a",
            "a-", "A", "é", "a.b", "a_b", "", "a b"]
        for byte in UInt8(0x20)..<0x7F { labels.append("q" + String(UnicodeScalar(byte)) + "q") }
        for label in labels {
            var payload: [UInt8] = [JournalEntry.version, 2, UInt8(label.utf8.count)]
            payload += Array(label.utf8)
            let expected = LabelRules.normalize(label) == label
            #expect((JournalEntry.decode(payload) == .deregister(id: label)) == expected, "\"\(label)\"")
        }
    }
}
