import Primitives
import DNSWire
import TestSupport
import Testing

/// Feeds `stream` to a fresh framer in the given chunks, draining after each, and returns the messages
/// and the frame that stopped the last drain (`needMore` at a clean end).
private func frame(_ stream: [UInt8], chunks: [Range<Int>]) -> (messages: [[UInt8]], last: TCPFramer.Frame) {
    var framer = TCPFramer()
    var messages: [[UInt8]] = []
    var last = TCPFramer.Frame.needMore
    for chunk in chunks {
        framer.append(stream[chunk])
        while true {
            last = framer.next()
            guard case .message(let message) = last else { break }
            messages.append(message)
        }
        if last == .zeroLength { break }
    }
    return (messages, last)
}

/// Cuts `0..<count` at the given offsets.
private func chunks(_ count: Int, cuts: [Int]) -> [Range<Int>] {
    let bounds = [0] + cuts.filter { $0 > 0 && $0 < count }.sorted() + [count]
    return zip(bounds, bounds.dropFirst()).map { $0..<$1 }
}

/// Each message with its two-octet length prefix (RFC 1035 §4.2.2).
private func prefixed(_ messages: [[UInt8]]) -> [UInt8] {
    messages.flatMap { [UInt8($0.count >> 8), UInt8($0.count & 0xFF)] + $0 }
}

@Suite("TCP framing: any split of the stream yields the same messages")
struct TCPFramerTests {
    static let messages: [[UInt8]] =
        GoldenVectors.all.map(\.bytes) + [[0x42], [UInt8](repeating: 0xAB, count: 300)]
    static let stream = prefixed(messages)

    @Test func streamFedAllAtOnceYieldsEveryMessage() {
        let result = frame(Self.stream, chunks: [0..<Self.stream.count])
        #expect(result.messages == Self.messages)
        #expect(result.last == .needMore)
    }

    @Test func streamFedOneOctetAtATimeYieldsEveryMessage() {
        let result = frame(Self.stream, chunks: (0..<Self.stream.count).map { $0..<($0 + 1) })
        #expect(result.messages == Self.messages)
    }

    @Test func streamFedOneMessagePerChunkYieldsEveryMessage() {
        var cuts: [Int] = []
        var offset = 0
        for message in Self.messages {
            offset += 2 + message.count
            cuts.append(offset)
        }
        #expect(frame(Self.stream, chunks: chunks(Self.stream.count, cuts: cuts)).messages == Self.messages)
    }

    @Test func streamCutBetweenThePrefixOctetsYieldsEveryMessage() {
        var cuts: [Int] = []
        var offset = 0
        for message in Self.messages {
            cuts.append(offset + 1)
            offset += 2 + message.count
        }
        #expect(frame(Self.stream, chunks: chunks(Self.stream.count, cuts: cuts)).messages == Self.messages)
    }

    @Test("stream fed in random splits yields every message", arguments: 1...20)
    func streamFedInRandomSplitsYieldsEveryMessage(seed: UInt64) {
        var random = SeededGenerator(seed: seed)
        let cuts = (0..<random.next(in: 1...60)).map { _ in random.next(below: Self.stream.count) }
        #expect(frame(Self.stream, chunks: chunks(Self.stream.count, cuts: cuts)).messages == Self.messages)
    }

    @Test func partialMessageWaitsForTheRest() {
        var framer = TCPFramer()
        framer.append([0x00])
        #expect(framer.next() == .needMore)
        framer.append([0x03, 0xAA, 0xBB])
        #expect(framer.next() == .needMore)
        #expect(framer.pendingByteCount == 4)
        framer.append([0xCC, 0x00])
        #expect(framer.next() == .message([0xAA, 0xBB, 0xCC]))
        #expect(framer.pendingByteCount == 1, "the next prefix's first octet stays pending")
        framer.append([UInt8]())
        #expect(framer.next() == .needMore)
    }

    @Test func zeroLengthPrefixIsReportedAfterTheMessagesBeforeIt() {
        let stream = prefixed([[1, 2, 3]]) + [0, 0] + prefixed([[4, 5]])
        let result = frame(stream, chunks: (0..<stream.count).map { $0..<($0 + 1) })
        #expect(result.messages == [[1, 2, 3]])
        #expect(result.last == .zeroLength)
    }

    @Test func zeroLengthPrefixKeepsBeingReported() {
        var framer = TCPFramer()
        framer.append([0, 0, 0, 1, 0x42])
        #expect(framer.next() == .zeroLength)
        #expect(framer.next() == .zeroLength, "the framer does not skip past the error")
    }

    @Test func largestMessageOf65535OctetsIsFramed() {
        let big = (0..<65535).map { UInt8(truncatingIfNeeded: $0) }
        let stream = prefixed([big, [7]])
        var framer = TCPFramer()
        stream.withUnsafeBytes { framer.append($0) }
        #expect(framer.next() == .message(big))
        #expect(framer.next() == .message([7]))
        #expect(framer.next() == .needMore)
        #expect(framer.pendingByteCount == 0)
    }
}
