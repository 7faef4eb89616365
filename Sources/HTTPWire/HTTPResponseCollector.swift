/// A whole received response: head and the complete body.
package struct HTTPClientResponse: Sendable, Equatable {
    package var head: HTTPResponseHead
    package var body: [UInt8]

    package init(head: HTTPResponseHead, body: [UInt8]) {
        self.head = head
        self.body = body
    }

    package var status: Int { head.status }
    package var headers: HTTPHeaders { head.headers }
    package func header(_ name: String) -> String? { head.headers[name] }
}

/// Gathers `HTTPResponseParser` events into whole responses, for request/reply clients (CLI, sidecar).
///
/// Interim 1xx responses (such as `100 Continue`) are skipped: callers want the final answer. The body
/// is capped at `maxBodyBytes` whatever its framing, so a server streaming forever cannot exhaust memory.
package struct HTTPResponseCollector: Sendable {
    package private(set) var parser: HTTPResponseParser
    package let maxBodyBytes: Int
    private var head: HTTPResponseHead?
    private var body: [UInt8] = []
    private var failure: HTTPParseError?

    package init(limits: HTTPResponseParser.Limits = .init(), maxBodyBytes: Int = 16 * 1024 * 1024) {
        self.parser = HTTPResponseParser(limits: limits)
        self.maxBodyBytes = maxBodyBytes
    }

    package mutating func append(_ bytes: UnsafeRawBufferPointer) { parser.append(bytes) }
    package mutating func append(_ bytes: [UInt8]) { parser.append(bytes) }

    /// Records that the connection closed (ends a read-until-close body).
    package mutating func finish() { parser.finish() }

    /// See `HTTPResponseParser.expectingResponseToHEAD`.
    package var expectingResponseToHEAD: Bool {
        get { parser.expectingResponseToHEAD }
        set { parser.expectingResponseToHEAD = newValue }
    }

    /// The next complete final response, or nil until more bytes arrive.
    /// - Throws: `HTTPParseError` (`bodyTooLarge` past `maxBodyBytes`), then again on every call.
    package mutating func next() throws(HTTPParseError) -> HTTPClientResponse? {
        if let failure { throw failure }
        do throws(HTTPParseError) {
            while let event = try parser.next() {
                switch event {
                case .head(let received):
                    head = received
                    body = []
                case .body(let bytes):
                    guard body.count + bytes.count <= maxBodyBytes else { throw .bodyTooLarge(limit: maxBodyBytes) }
                    if body.isEmpty { body = bytes } else { body.append(contentsOf: bytes) }
                case .end:
                    guard let finished = head else { continue }
                    head = nil
                    if finished.status < 200 { continue }
                    defer { body = [] }
                    return HTTPClientResponse(head: finished, body: body)
                }
            }
            return nil
        } catch {
            failure = error
            throw error
        }
    }
}
