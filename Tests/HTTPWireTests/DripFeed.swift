import Primitives
import HTTPWire
import Testing

/// SplitMix64: a tiny seeded generator, so random splits and mutations replay exactly.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { self.state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Everything a request parser produced from an input: the requests, the error it stopped on, and how
/// many bytes it still holds (only meaningful without an error, since a failed parser drops input).
struct RequestParse: Equatable, CustomStringConvertible {
    var requests: [HTTPRequest] = []
    var error: HTTPParseError?
    var buffered: Int?

    var description: String {
        "\(requests.map { "\($0.method) \($0.target) body:\($0.body.count)" }) error:\(String(describing: error))"
    }
}

/// Ways of cutting one input into the chunks a socket might deliver (STYLE.md 14b).
enum Feeding: CustomStringConvertible {
    case whole
    case byteByByte
    /// Cut after every LF: roughly one line, and so one pipelined message part, per chunk.
    case lineByLine
    case random(seed: UInt64)

    func chunks(of count: Int, lines: [UInt8]) -> [Range<Int>] {
        switch self {
        case .whole:
            return [0..<count]
        case .byteByByte:
            return (0..<count).map { $0..<$0 + 1 }
        case .lineByLine:
            var cuts = [0]
            for (i, b) in lines.enumerated() where b == 0x0A { cuts.append(i + 1) }
            cuts.append(count)
            return zip(cuts, cuts.dropFirst()).compactMap { $0 < $1 ? $0..<$1 : nil }
        case .random(let seed):
            var generator = SeededGenerator(seed: seed)
            var ranges: [Range<Int>] = []
            var start = 0
            while start < count {
                let length = Int.random(in: 1...max(1, min(count - start, 17)), using: &generator)
                ranges.append(start..<start + length)
                start += length
            }
            return ranges
        }
    }

    var description: String {
        switch self {
        case .whole: "all at once"
        case .byteByByte: "one byte at a time"
        case .lineByLine: "line by line"
        case .random(let seed): "random chunks (seed \(seed))"
        }
    }

    static let all: [Feeding] = [.whole, .byteByByte, .lineByLine] + (1...5).map { .random(seed: $0) }
}

/// Feeds `bytes` to a fresh parser as `feeding` cuts it, draining after every chunk.
func parseRequests(
    _ bytes: [UInt8], feeding: Feeding = .whole, limits: HTTPRequestParser.Limits = .init()
) -> RequestParse {
    var parser = HTTPRequestParser(limits: limits)
    var result = RequestParse()
    for range in feeding.chunks(of: bytes.count, lines: bytes) {
        bytes[range].withUnsafeBytes { parser.append($0) }
        do {
            while let request = try parser.next() { result.requests.append(request) }
        } catch {
            result.error = error
            return result
        }
    }
    result.buffered = parser.bufferedByteCount
    return result
}

/// The drip-feed verifier: parses `text` whole, byte by byte, line by line and in seeded random chunks,
/// expects every feeding to give the same result, and returns it.
@discardableResult
func dripFeed(
    _ text: String, limits: HTTPRequestParser.Limits = .init(), sourceLocation: SourceLocation = #_sourceLocation
) -> RequestParse {
    dripFeed(Array(text.utf8), limits: limits, sourceLocation: sourceLocation)
}

@discardableResult
func dripFeed(
    _ bytes: [UInt8], limits: HTTPRequestParser.Limits = .init(), sourceLocation: SourceLocation = #_sourceLocation
) -> RequestParse {
    let reference = parseRequests(bytes, feeding: .whole, limits: limits)
    for feeding in Feeding.all.dropFirst() {
        let other = parseRequests(bytes, feeding: feeding, limits: limits)
        #expect(other == reference, "fed \(feeding)", sourceLocation: sourceLocation)
    }
    return reference
}

/// Runs a response parser over `bytes` cut as `feeding` says, then EOF if `finish`; returns the events
/// and the error, if any.
func responseEvents(
    _ bytes: [UInt8], feeding: Feeding = .whole, finish: Bool = false,
    limits: HTTPResponseParser.Limits = .init()
) -> (events: [HTTPResponseEvent], error: HTTPParseError?) {
    var parser = HTTPResponseParser(limits: limits)
    var events: [HTTPResponseEvent] = []
    var chunks = feeding.chunks(of: bytes.count, lines: bytes).map { Optional($0) }
    if finish { chunks.append(nil) }
    for range in chunks {
        if let range { bytes[range].withUnsafeBytes { parser.append($0) } } else { parser.finish() }
        do {
            while let event = try parser.next() { events.append(event) }
        } catch {
            return (events, error)
        }
    }
    return (events, nil)
}

/// The UTF-8 bytes of `text`.
func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }
