import HTTPWire
/// Entry points for coverage-guided fuzzers (libFuzzer targets call these with each input) and for the
/// seeded mutation tests. Each parses and discards; a trap or a failed check here is the bug to find.

/// Feeds `bytes` to a request parser in one chunk and drains it, then again split in two at a point
/// taken from the input, and checks that both feeds produce the same requests and error.
package func fuzzHTTPRequest(_ bytes: [UInt8]) {
    let limits = HTTPRequestParser.Limits(maxHeadBytes: 1024, maxBodyBytes: 4096)
    let whole = drainRequests(bytes, splitAt: bytes.count, limits: limits)
    let split = bytes.isEmpty ? 0 : Int(bytes[0]) % bytes.count
    let halves = drainRequests(bytes, splitAt: split, limits: limits)
    precondition(whole.requests == halves.requests && whole.error == halves.error, "request parse depends on chunking")
}

/// Feeds `bytes` to a response parser (and EOF) and drains it; must never trap.
package func fuzzHTTPResponse(_ bytes: [UInt8]) {
    var parser = HTTPResponseParser(limits: .init(maxHeadBytes: 1024, maxChunkBytes: 4096))
    parser.append(bytes)
    parser.finish()
    for _ in 0..<bytes.count + 2 {
        guard (try? parser.next()) != nil else { return }
    }
}

/// Parses `bytes` as JSON; when that succeeds, serializes the value and checks that parsing the output
/// gives the same value and serializing again the same bytes (a fixed point).
package func fuzzJSON(_ bytes: [UInt8]) {
    guard let value = try? JSONParser.parse(bytes) else { return }
    let once = value.serialized()
    guard let again = try? JSONParser.parse(once) else { preconditionFailure("serialized JSON does not parse") }
    precondition(again == value && again.serialized() == once, "JSON round trip is not a fixed point")
}

private func drainRequests(
    _ bytes: [UInt8], splitAt split: Int, limits: HTTPRequestParser.Limits
) -> (requests: [HTTPRequest], error: HTTPParseError?) {
    var parser = HTTPRequestParser(limits: limits)
    var requests: [HTTPRequest] = []
    for chunk in [bytes[..<split], bytes[split...]] {
        chunk.withUnsafeBytes { parser.append($0) }
        do {
            while let request = try parser.next() { requests.append(request) }
        } catch {
            return (requests, error)
        }
    }
    return (requests, nil)
}
