/// An incremental HTTP/1.1 request parser (RFC 9112): bytes in, complete requests out, in order.
///
/// A value-type state machine with no I/O. Feed whatever the socket returned with `append`, then call
/// `next()` until it returns nil (needs more bytes). Pipelined requests in one chunk come out one per
/// call. The head is parsed only once its empty line has arrived, and the body limit is checked from
/// Content-Length before any body byte is waited for, so a 413 goes out at once. After a thrown error
/// the parser stays failed, drops further input and rethrows: the caller answers with `error.status`
/// and closes, since it cannot know where the next request would start.
///
///     var parser = HTTPRequestParser()
///     parser.append(chunk)
///     while let request = try parser.next() { respond(to: request) }
package struct HTTPRequestParser: Sendable {
    /// Size limits. A head of exactly `maxHeadBytes` (request line through the empty line) is accepted.
    package struct Limits: Sendable, Equatable {
        package var maxHeadBytes: Int
        package var maxBodyBytes: Int

        /// The contract's limits: head 64 KiB (431 past it), body 1 MiB (413 past it).
        package init(maxHeadBytes: Int = 64 * 1024, maxBodyBytes: Int = 1024 * 1024) {
            self.maxHeadBytes = maxHeadBytes
            self.maxBodyBytes = maxBodyBytes
        }
    }

    private enum State: Sendable {
        /// Receiving a head; the search for its end resumes at `scanned`.
        case head(scanned: Int)
        /// The head is parsed and `head.contentLength` body bytes are awaited.
        case body(HTTPRequestHead, continueTaken: Bool)
        case failed(HTTPParseError)
    }

    package let limits: Limits
    private var input = InputBuffer()
    private var state = State.head(scanned: 0)

    package init(limits: Limits = Limits()) { self.limits = limits }

    /// Adds received bytes. Ignored once the parser has failed.
    package mutating func append(_ bytes: UnsafeRawBufferPointer) {
        if case .failed = state { return }
        input.append(bytes)
    }

    package mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// How many received bytes are not yet part of a returned request.
    package var bufferedByteCount: Int { input.count }

    /// Whether nothing of a next request has arrived: a connection closed now loses nothing.
    package var isIdle: Bool {
        if case .head = state { return input.count == 0 }
        return false
    }

    /// The head of a request whose body is still arriving, for example to answer `100 Continue`.
    package var pendingHead: HTTPRequestHead? {
        if case .body(let head, _) = state { return head }
        return nil
    }

    /// True exactly once per request that sent `Expect: 100-continue` and whose body is still missing:
    /// the moment to write `HTTP/1.1 100 Continue` (RFC 9110 §10.1.1). Limits were already checked.
    package mutating func takeContinueRequest() -> Bool {
        guard case .body(let head, let taken) = state, head.expectsContinue, !taken else { return false }
        state = .body(head, continueTaken: true)
        return true
    }

    /// The next complete request, or nil until more bytes arrive.
    /// - Throws: `HTTPParseError` for a malformed or oversized request, then again on every call.
    package mutating func next() throws(HTTPParseError) -> HTTPRequest? {
        switch state {
        case .failed(let error):
            throw error
        case .body(let head, let taken):
            return takeBody(head, continueTaken: taken)
        case .head(let scanned):
            let limits = self.limits
            let outcome = input.withUnconsumedBytes { raw in Self.parseHead(raw, scanned: scanned, limits: limits) }
            switch outcome {
            case .incomplete(let resume):
                state = .head(scanned: resume)
                return nil
            case .failed(let error):
                state = .failed(error)
                throw error
            case .complete(let head, let length):
                input.consume(length)
                return takeBody(head, continueTaken: false)
            }
        }
    }

    private mutating func takeBody(_ head: HTTPRequestHead, continueTaken: Bool) -> HTTPRequest? {
        guard input.count >= head.contentLength else {
            state = .body(head, continueTaken: continueTaken)
            return nil
        }
        state = .head(scanned: 0)
        return HTTPRequest(head: head, body: input.take(head.contentLength))
    }

    // MARK: - Head

    private enum HeadOutcome {
        case incomplete(resume: Int)
        case complete(HTTPRequestHead, length: Int)
        case failed(HTTPParseError)
    }

    private static func parseHead(_ raw: UnsafeRawBufferPointer, scanned: Int, limits: Limits) -> HeadOutcome {
        guard let first = skipLeadingEmptyLines(raw) else {
            return raw.count >= limits.maxHeadBytes
                ? .failed(.headTooLarge(limit: limits.maxHeadBytes)) : .incomplete(resume: 0)
        }
        switch scanForHeadEnd(raw, from: max(scanned, first)) {
        case .incomplete(let resume):
            // Not found within the bytes so far, so the head is longer than all of them.
            if raw.count >= limits.maxHeadBytes { return .failed(.headTooLarge(limit: limits.maxHeadBytes)) }
            return .incomplete(resume: resume)
        case .complete(let end):
            if end > limits.maxHeadBytes { return .failed(.headTooLarge(limit: limits.maxHeadBytes)) }
            do throws(HTTPParseError) {
                let head = try parseHead(raw, from: first, to: end, limits: limits)
                return .complete(head, length: end)
            } catch {
                return .failed(error)
            }
        }
    }

    /// Parses a complete head: request line, then field lines, then the framing decisions.
    private static func parseHead(
        _ raw: UnsafeRawBufferPointer, from: Int, to end: Int, limits: Limits
    ) throws(HTTPParseError) -> HTTPRequestHead {
        var lines = LineCursor(raw, from: from, to: end)
        guard let requestLine = lines.nextLine() else { throw .badRequestLine }
        let (method, targetRange, version) = try parseRequestLine(raw, requestLine)
        let (headers, framing) = try parseFieldLines(&lines)
        // RFC 9112 §6.1: a server MAY reply 411 to a request with a transfer coding it does not accept.
        // Rejecting every Transfer-Encoding also closes the request-smuggling gap with Content-Length.
        if framing.hasTransferEncoding { throw .lengthRequired }
        let length = framing.contentLength ?? 0
        if length > limits.maxBodyBytes { throw .bodyTooLarge(limit: limits.maxBodyBytes) }
        let (target, rawPath, path, query) = try RequestTarget.decode(UnsafeRawBufferPointer(rebasing: raw[targetRange]))
        let keepAlive = !framing.connectionClose && (version.persistsByDefault || framing.connectionKeepAlive)
        // "A server that receives a 100-continue expectation in an HTTP/1.0 request MUST ignore that
        // expectation" (RFC 9110 §10.1.1).
        let expectsContinue = framing.expectContinue && version.persistsByDefault
        return HTTPRequestHead(
            method: method, target: target, path: path, rawPath: rawPath, query: query, version: version,
            headers: headers,
            keepAlive: keepAlive, expectsContinue: expectsContinue, contentLength: length)
    }

    /// `request-line = method SP request-target SP HTTP-version` (RFC 9112 §3), single spaces only.
    private static func parseRequestLine(
        _ raw: UnsafeRawBufferPointer, _ line: Range<Int>
    ) throws(HTTPParseError) -> (HTTPMethod, Range<Int>, HTTPVersion) {
        var i = line.lowerBound
        while i < line.upperBound && ASCII.isTokenCharacter(raw[i]) { i += 1 }
        guard i > line.lowerBound, i < line.upperBound else { throw requestLineError(raw, line) }
        guard raw[i] == ASCII.space else { throw requestLineError(raw, line) }
        let methodRange = line.lowerBound..<i
        let targetStart = i + 1
        i = targetStart
        // request-target bytes are visible ASCII (RFC 3986 §2, RFC 9112 §3.2).
        while i < line.upperBound && raw[i] > ASCII.space && raw[i] < ASCII.delete { i += 1 }
        guard i > targetStart, i < line.upperBound, raw[i] == ASCII.space else { throw requestLineError(raw, line) }
        let versionRange = i + 1..<line.upperBound
        guard let version = HTTPVersion.parse(raw, versionRange) else { throw requestLineError(raw, line) }
        guard version.major == 1 else { throw .unsupportedVersion }
        return (HTTPMethod(raw, methodRange), targetStart..<i, version)
    }

    /// A malformed request line is 400; a CR or control byte in it gets its specific case.
    private static func requestLineError(_ raw: UnsafeRawBufferPointer, _ line: Range<Int>) -> HTTPParseError {
        for i in line {
            let b = raw[i]
            if b == ASCII.cr { return .bareCarriageReturn }
            if b < ASCII.space || b == ASCII.delete { return .controlCharacter }
        }
        return .badRequestLine
    }
}
