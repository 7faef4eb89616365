import FuzzSupport
import Primitives
import HTTPWire
import Testing

/// Seeded random mutation of small corpora (STYLE.md 14d): the parsers never trap, request parsing does
/// not depend on chunking, and JSON that parses survives a write/parse round trip. The seeds are fixed,
/// so a failure replays; a crash found here becomes a named regression test with its bytes inline.
@Suite struct MutationFuzzTests {
    /// Byte-level mutations plus splices of tokens that matter to the grammars.
    struct Mutator {
        var generator: SeededGenerator
        let tokens: [[UInt8]]

        mutating func mutate(_ input: [UInt8]) -> [UInt8] {
            var out = input
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                let position = out.isEmpty ? 0 : Int.random(in: 0..<out.count, using: &generator)
                switch Int.random(in: 0..<7, using: &generator) {
                case 0 where !out.isEmpty:
                    out[position] ^= 1 << UInt8.random(in: 0..<8, using: &generator)
                case 1 where !out.isEmpty:
                    out[position] = UInt8.random(in: 0...255, using: &generator)
                case 2, 3:
                    out.insert(contentsOf: tokens.randomElement(using: &generator)!, at: position)
                case 4 where !out.isEmpty:
                    out.removeSubrange(position..<min(out.count, position + Int.random(in: 1...8, using: &generator)))
                case 5 where !out.isEmpty:
                    let end = min(out.count, position + Int.random(in: 1...16, using: &generator))
                    out.insert(contentsOf: Array(out[position..<end]), at: end)
                default:
                    out.removeSubrange(position...)
                }
            }
            return out
        }
    }

    static let requestCorpus: [String] = [
        "GET /v1/services/orders/create?index=4&wait=30s HTTP/1.1\r\nHost: b\r\n\r\n",
        "POST /v1/register HTTP/1.1\r\nContent-Length: 11\r\nContent-Type: application/json\r\n\r\n{\"port\":80}",
        "POST /v1/instances/a/heartbeat HTTP/1.1\r\n\r\n"
            + "DELETE /v1/instances/a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        "PUT http://h/x%20y HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok",
        "\r\nGET / HTTP/1.1\nX: y\n\n",
        "POST /big HTTP/1.1\r\nContent-Length: 100\r\n\r\n",
        "POST /chunked HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    ]
    static let requestTokens = [
        "\r\n", "\r", "\n", ":", " ", "\t", "%", "%2", "%00", "?", "&", "=", "+", "#", "HTTP/1.1", "HTTP/2.0",
        "Content-Length: ", "Content-Length: 99999999999999999999", "Transfer-Encoding: chunked\r\n",
        "Connection: close\r\n", "\u{0}", "\r\n\r\n", "0", "9", "GET ", "é",
    ].map(bytes)

    @Test func mutatedRequestsNeverTrapAndParseTheSameWhateverTheChunking() {
        var mutator = Mutator(generator: SeededGenerator(seed: 0xBEAC0), tokens: Self.requestTokens)
        let corpus = Self.requestCorpus.map(bytes)
        let limits = HTTPRequestParser.Limits(maxHeadBytes: 512, maxBodyBytes: 64)
        var statuses: Set<Int> = []
        var parsedRequests = 0
        for i in 0..<3000 {
            let input = mutator.mutate(corpus[i % corpus.count])
            fuzzHTTPRequest(input)
            let whole = parseRequests(input, feeding: .whole, limits: limits)
            let split = parseRequests(input, feeding: .random(seed: UInt64(i)), limits: limits)
            #expect(whole == split, "input \(input)")
            parsedRequests += whole.requests.count
            if let error = whole.error { statuses.insert(error.status) }
        }
        // The loop reaches both sides of the grammar, so it is testing something.
        #expect(parsedRequests > 500)
        #expect(statuses.isSuperset(of: [400, 411, 413, 505]), "statuses seen: \(statuses.sorted())")
    }

    static let responseCorpus: [String] = [
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n3\r\nabc\r\n0\r\nT: 1\r\n\r\n",
        "HTTP/1.0 503 Service Unavailable\r\n\r\nbody until close",
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
    ]
    static let responseTokens = ["\r\n", "\r", "\n", ";", "0\r\n\r\n", "ffffffff\r\n", "1\r\n", " ", ":", "\u{0}"]
        .map(bytes)

    /// What a response parser made of an input, reduced to what chunking must not change.
    struct ResponseSummary: Equatable {
        var heads: [HTTPResponseHead] = []
        var body: [UInt8] = []
        var ends = 0
        var error: HTTPParseError?
    }

    func summarize(_ input: [UInt8], feeding: Feeding) -> ResponseSummary {
        let (events, error) = responseEvents(input, feeding: feeding, finish: true, limits: .init(maxChunkBytes: 256))
        var summary = ResponseSummary(error: error)
        for event in events {
            switch event {
            case .head(let head): summary.heads.append(head)
            case .body(let bytes): summary.body += bytes
            case .end: summary.ends += 1
            }
        }
        return summary
    }

    @Test func mutatedResponsesNeverTrapAndParseTheSameWhateverTheChunking() {
        var mutator = Mutator(generator: SeededGenerator(seed: 0x5EED), tokens: Self.responseTokens)
        let corpus = Self.responseCorpus.map(bytes)
        var completed = 0
        for i in 0..<2000 {
            let input = mutator.mutate(corpus[i % corpus.count])
            fuzzHTTPResponse(input)
            let whole = summarize(input, feeding: .whole)
            #expect(whole == summarize(input, feeding: .random(seed: UInt64(i))), "input \(input)")
            completed += whole.ends
        }
        #expect(completed > 300)
    }

    static let jsonCorpus: [String] = [
        #"{"service":"orders","function":"create","address":"10.0.0.1","port":8080,"ttl":30,"meta":{"a":"b"}}"#,
        #"[1,-2.5e3,true,false,null,"s\n\u00e9\ud83d\ude00",[],{}]"#,
        #"{"services":[{"service":"a","functions":[{"function":"f","instances":2}]}]}"#,
        #"  "\\\"\/"  "#,
    ]
    static let jsonTokens =
        [
            "{", "}", "[", "]", ",", ":", "\"", "\\", "\\u", "\\ud83d", "\\udc00", "0", "-", ".", "e", "E+", "1e400",
            "true", "null", " ", "\n", "\u{1}", "é",
        ].map(bytes) + [[0xFF], [0xC3], [0xED, 0xA0, 0x80]]

    @Test func mutatedJSONNeverTrapsAndWhatParsesRoundTrips() throws {
        var mutator = Mutator(generator: SeededGenerator(seed: 0x150B), tokens: Self.jsonTokens)
        let corpus = Self.jsonCorpus.map(bytes)
        var accepted = 0
        var rejected = 0
        for i in 0..<3000 {
            let input = mutator.mutate(corpus[i % corpus.count])
            fuzzJSON(input)
            do {
                let value = try JSONParser.parse(input)
                accepted += 1
                let written = value.serialized()
                #expect(try JSONParser.parse(written) == value, "input \(input)")
            } catch {
                rejected += 1
                #expect(error.offset >= 0 && error.offset <= input.count, "\(error) for \(input)")
            }
        }
        #expect(accepted > 200)
        #expect(rejected > 1000)
    }

    @Test func extremeInputsAreHandled() {
        fuzzHTTPRequest([])
        fuzzHTTPResponse([])
        fuzzJSON([])
        fuzzHTTPRequest(Array(repeating: 0x0A, count: 5000))
        fuzzHTTPResponse(
            bytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n") + Array(repeating: 0x30, count: 5000))
        fuzzJSON(Array(repeating: 0x5B, count: 100_000))
        fuzzJSON(bytes("\"") + Array(repeating: 0x5C, count: 10_001))
        #expect(throws: JSONError.self) { try JSONParser.parse(Array(repeating: 0x5B, count: 100_000)) }
    }
}
