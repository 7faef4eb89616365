/// An incremental HTTP/1.1 response parser (RFC 9112) for Beacon's clients, emitting events.
///
/// Handles Content-Length bodies (handed out whole), chunked bodies (each chunk handed out as soon
/// as it and its CRLF have arrived, so an endless stream such as an etcd watch is processed chunk by
/// chunk in bounded memory) and bodies that run until the connection closes (call `finish()` at EOF).
/// Chunk extensions and trailer fields are read and discarded (RFC 9112 §7.1.1, §7.1.2). For whole
/// responses, wrap it in `HTTPResponseCollector`.
///
///     parser.append(chunk)
///     while let event = try parser.next() { ... }      // .head, .body..., .end
package struct HTTPResponseParser: Sendable {
    package struct Limits: Sendable, Equatable {
        package var maxHeadBytes: Int
        /// The largest single chunk, and also the largest Content-Length body, held in memory.
        package var maxChunkBytes: Int

        package init(maxHeadBytes: Int = 64 * 1024, maxChunkBytes: Int = 16 * 1024 * 1024) {
            self.maxHeadBytes = maxHeadBytes
            self.maxChunkBytes = maxChunkBytes
        }
    }

    private enum State: Sendable {
        case head(scanned: Int)
        case length(Int)
        case chunkSize(scanned: Int)
        case chunkData(size: Int)
        case trailers(scanned: Int)
        case untilClose
        /// The body is done; `.end` is the next event.
        case ending
        /// The connection ended cleanly; no more events.
        case closed
        case failed(HTTPParseError)
    }

    /// A chunk-size line longer than this (without its LF) is malformed: it is hex digits plus optional
    /// extensions, and a cap keeps a peer from making the parser buffer an endless line.
    static let maxChunkLineBytes = 4096

    package let limits: Limits
    private var input = InputBuffer()
    private var state = State.head(scanned: 0)
    private var inputEnded = false

    /// Set before the response to a HEAD request arrives: that response has no body whatever its fields
    /// say (RFC 9110 §9.3.2). Cleared when its head is parsed.
    package var expectingResponseToHEAD = false

    package init(limits: Limits = Limits()) { self.limits = limits }

    package mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard !inputEnded else { return }
        switch state {
        case .failed, .closed: return
        default: input.append(bytes)
        }
    }

    package mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// Records that the connection has closed: ends a read-until-close body, or fails a partial message.
    package mutating func finish() { inputEnded = true }

    /// The next event, or nil until more bytes arrive (or forever, after a clean end).
    /// - Throws: `HTTPParseError`, then again on every call.
    package mutating func next() throws(HTTPParseError) -> HTTPResponseEvent? {
        do throws(HTTPParseError) {
            return try step()
        } catch {
            state = .failed(error)
            throw error
        }
    }

    private mutating func step() throws(HTTPParseError) -> HTTPResponseEvent? {
        while true {
            switch state {
            case .failed(let error):
                throw error
            case .closed:
                return nil
            case .ending:
                state = .head(scanned: 0)
                return .end
            case .head(let scanned):
                return try parseHead(scanned: scanned).map(HTTPResponseEvent.head)
            case .length(let count):
                guard input.count >= count else { return try needMore() }
                state = .ending
                return .body(input.take(count))
            case .chunkSize(let scanned):
                guard try parseChunkSize(scanned: scanned) else { return try needMore() }
            case .chunkData(let size):
                guard let chunk = try takeChunk(size: size) else { return try needMore() }
                state = .chunkSize(scanned: 0)
                return .body(chunk)
            case .trailers(let scanned):
                guard try skipTrailers(scanned: scanned) else { return try needMore() }
                state = .ending
            case .untilClose:
                if input.count > 0 { return .body(input.take(input.count)) }
                guard inputEnded else { return nil }
                state = .closed
                return .end
            }
        }
    }

    /// Nil while the connection is open; an error if it closed mid-message.
    private func needMore() throws(HTTPParseError) -> HTTPResponseEvent? {
        if inputEnded { throw .truncated }
        return nil
    }

    // MARK: - Head

    /// What a scan of the buffered bytes found: a result, or where to resume once more bytes arrive.
    private enum Progress<Value> {
        case done(Value)
        case waiting(resume: Int)
    }

    private mutating func parseHead(scanned: Int) throws(HTTPParseError) -> HTTPResponseHead? {
        let limit = limits.maxHeadBytes
        let outcome: Result<Progress<(HTTPResponseHead, Int)>?, HTTPParseError> = input.withUnconsumedBytes { raw in
            guard let first = skipLeadingEmptyLines(raw) else { return .success(nil) }
            switch scanForHeadEnd(raw, from: max(scanned, first)) {
            case .incomplete(let resume):
                if raw.count >= limit { return .failure(.headTooLarge(limit: limit)) }
                return .success(.waiting(resume: resume))
            case .complete(let end):
                if end > limit { return .failure(.headTooLarge(limit: limit)) }
                do throws(HTTPParseError) {
                    return .success(.done((try Self.parseHead(raw, from: first, to: end), end)))
                } catch {
                    return .failure(error)
                }
            }
        }
        switch try outcome.get() {
        case nil:
            // Nothing but empty lines so far: a close here, between responses, loses nothing.
            if inputEnded { state = .closed }
            return nil
        case .waiting(let resume):
            state = .head(scanned: resume)
            if inputEnded { throw .truncated }
            return nil
        case .done(let (head, length)):
            input.consume(length)
            return try frame(head)
        }
    }

    /// Decides what follows a head and sets the state for it.
    private mutating func frame(_ head: HTTPResponseHead) throws(HTTPParseError) -> HTTPResponseHead {
        var framed = head
        if expectingResponseToHEAD || HTTPStatus.forbidsContent(head.status) { framed.framing = .none }
        expectingResponseToHEAD = false
        switch framed.framing {
        case .none:
            state = .ending
        case .length(let count):
            guard count <= limits.maxChunkBytes else { throw .bodyTooLarge(limit: limits.maxChunkBytes) }
            state = count == 0 ? .ending : .length(count)
        case .chunked:
            state = .chunkSize(scanned: 0)
        case .untilClose:
            state = .untilClose
            framed.keepAlive = false
        }
        return framed
    }

    /// Parses `status-line = HTTP-version SP status-code SP [ reason-phrase ]` and the fields. A missing
    /// final SP before an empty reason is tolerated.
    private static func parseHead(
        _ raw: UnsafeRawBufferPointer, from: Int, to end: Int
    ) throws(HTTPParseError) -> HTTPResponseHead {
        var lines = LineCursor(raw, from: from, to: end)
        guard let line = lines.nextLine(), line.count >= 12 else { throw .badStatusLine }
        let s = line.lowerBound
        guard let version = HTTPVersion.parse(raw, s..<s + 8), raw[s + 8] == ASCII.space,
            ASCII.isDigit(raw[s + 9]), ASCII.isDigit(raw[s + 10]), ASCII.isDigit(raw[s + 11]),
            line.count == 12 || raw[s + 12] == ASCII.space
        else { throw .badStatusLine }
        guard version.major == 1 else { throw .unsupportedVersion }
        let status =
            Int(raw[s + 9] - ASCII.zero) * 100 + Int(raw[s + 10] - ASCII.zero) * 10
            + Int(raw[s + 11] - ASCII.zero)
        guard status >= 100 else { throw .badStatusLine }
        let reasonRange = min(s + 13, line.upperBound)..<line.upperBound
        try validateFieldContent(raw, reasonRange)
        let (headers, fields) = try parseFieldLines(&lines)
        // RFC 9112 §6.3: chunked as the final coding wins; any other Transfer-Encoding means "until close";
        // then Content-Length; then until close.
        var framing = HTTPBodyFraming.untilClose
        if fields.chunked {
            framing = .chunked
        } else if !fields.hasTransferEncoding, let length = fields.contentLength {
            framing = .length(length)
        }
        let keepAlive = !fields.connectionClose && (version.persistsByDefault || fields.connectionKeepAlive)
        return HTTPResponseHead(
            version: version, status: status, reason: raw.string(reasonRange), headers: headers, framing: framing,
            keepAlive: keepAlive)
    }

    // MARK: - Chunked body (RFC 9112 §7.1)

    /// Reads `chunk-size [ chunk-ext ] CRLF`; false until the whole line has arrived.
    private mutating func parseChunkSize(scanned: Int) throws(HTTPParseError) -> Bool {
        let maxChunk = limits.maxChunkBytes
        let found: Result<(size: Int, lineLength: Int)?, HTTPParseError> = input.withUnconsumedBytes { raw in
            var lf = scanned
            while lf < raw.count && raw[lf] != ASCII.lf { lf += 1 }
            // The same verdict whether or not the LF has arrived yet, so chunking cannot change it.
            guard lf <= Self.maxChunkLineBytes else { return .failure(.badChunk) }
            guard lf < raw.count else { return .success(nil) }
            var end = lf
            if end > 0 && raw[end - 1] == ASCII.cr { end -= 1 }
            var size = 0
            var i = 0
            while i < end, let digit = ASCII.hexValue(raw[i]) {
                // Checking before shifting keeps a 17-digit size from overflowing.
                guard size <= maxChunk >> 4 else { return .failure(.chunkTooLarge(limit: maxChunk)) }
                size = size << 4 | Int(digit)
                i += 1
            }
            guard i > 0 else { return .failure(.badChunk) }
            guard size <= maxChunk else { return .failure(.chunkTooLarge(limit: maxChunk)) }
            while i < end && ASCII.isWhitespace(raw[i]) { i += 1 }
            if i < end {
                // chunk-ext (RFC 9112 §7.1.1): skipped, but it must start with ";" and hold no control bytes.
                guard raw[i] == ASCII.semicolon else { return .failure(.badChunk) }
                for j in i..<end where raw[j] < ASCII.space && raw[j] != ASCII.tab || raw[j] == ASCII.delete {
                    return .failure(.badChunk)
                }
            }
            return .success((size, lf + 1))
        }
        guard let (size, lineLength) = try found.get() else {
            state = .chunkSize(scanned: input.count)
            return false
        }
        input.consume(lineLength)
        state = size == 0 ? .trailers(scanned: 0) : .chunkData(size: size)
        return true
    }

    /// Takes a chunk's data once it and its CRLF have arrived.
    private mutating func takeChunk(size: Int) throws(HTTPParseError) -> [UInt8]? {
        let found: Result<Int?, HTTPParseError> = input.withUnconsumedBytes { raw in
            guard raw.count > size else { return .success(nil) }
            if raw[size] == ASCII.lf { return .success(1) }
            guard raw[size] == ASCII.cr else { return .failure(.badChunk) }
            guard raw.count > size + 1 else { return .success(nil) }
            return raw[size + 1] == ASCII.lf ? .success(2) : .failure(.badChunk)
        }
        guard let terminator = try found.get() else { return nil }
        let chunk = input.take(size)
        input.consume(terminator)
        return chunk
    }

    /// Skips `*( field-line CRLF ) CRLF` after the last chunk; false until it has all arrived.
    private mutating func skipTrailers(scanned: Int) throws(HTTPParseError) -> Bool {
        let limit = limits.maxHeadBytes
        let found: Result<Progress<Int>, HTTPParseError> = input.withUnconsumedBytes { raw in
            if raw.count >= 1 && raw[0] == ASCII.lf { return .success(.done(1)) }
            if raw.count >= 2 && raw[0] == ASCII.cr {
                return raw[1] == ASCII.lf ? .success(.done(2)) : .failure(.badChunk)
            }
            switch scanForHeadEnd(raw, from: scanned) {
            case .complete(let end):
                return end > limit ? .failure(.headTooLarge(limit: limit)) : .success(.done(end))
            case .incomplete(let resume):
                if raw.count >= limit { return .failure(.headTooLarge(limit: limit)) }
                return .success(.waiting(resume: resume))
            }
        }
        switch try found.get() {
        case .waiting(let resume):
            state = .trailers(scanned: resume)
            return false
        case .done(let length):
            input.consume(length)
            return true
        }
    }
}
