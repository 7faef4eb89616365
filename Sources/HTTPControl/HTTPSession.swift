import Primitives
import HTTPWire
import Leases
import PosixIO

/// One HTTP/1.1 connection: parses requests, answers them strictly in order (pipelining), keeps
/// the connection alive or closes it, and enforces the idle and slow-client deadlines.
///
/// What a connection can make the server hold is bounded. While a request is in flight (a parked
/// watch, a store write) or the client is behind on reading its responses (`outputLimit`), at most
/// one further request is read ahead, and then reading pauses: the input held is one request within
/// the parser's head and body limits plus one read, whatever the client sends. The loop still sees
/// a close or reset while reading is paused (it always watches for hang-ups), and a parked watch is
/// cancelled with its connection.
final class HTTPSession: StreamSession {
    struct Timeouts {
        var idleNanoseconds: Int64
        /// How long a request may take to arrive in full once its first byte is in (slow-loris guard).
        var requestNanoseconds: Int64
    }

    /// Queued output past which the next request waits, and reading pauses, until the client has
    /// read it all: pipelined requests whose responses are never read cannot pile up responses.
    static let outputLimit = 256 * 1024

    /// A request read ahead, or why the bytes after the one in flight cannot be one.
    private enum Next {
        case request(HTTPRequest)
        case failure(HTTPParseError)
    }

    private let api: ControlAPI
    private let hub: WatchHub
    private let counts: HTTPStatusCounts
    /// Heartbeat jitter: per connection, so no lock.
    private var jitter: SplitMix64
    private let timeouts: Timeouts
    private var parser: HTTPRequestParser
    private weak var connection: StreamConnection?
    /// A request has been dispatched and its response is not written yet.
    private var inFlight = false
    private var inFlightKeepAlive = true
    private var inFlightIsHead = false
    /// The in-flight request's watch while it is parked in the hub.
    private var parkedWatch: WatchHub.Ticket?
    /// The next request, parsed while one was in flight or output was backed up; reading pauses while it waits.
    private var readAhead: Next?
    /// Inside `process`: a reply that arrives synchronously must not re-enter it.
    private var processing = false
    /// Whether the bytes buffered belong to a request whose deadline is already set.
    private var requestDeadlineSet = false

    init(
        connection: StreamConnection, api: ControlAPI, hub: WatchHub, counts: HTTPStatusCounts,
        limits: HTTPRequestParser.Limits, timeouts: Timeouts
    ) {
        self.connection = connection
        self.api = api
        self.hub = hub
        self.counts = counts
        jitter = SplitMix64(seed: UInt64(bitPattern: Posix.monotonicNanoseconds()))
        self.timeouts = timeouts
        parser = HTTPRequestParser(limits: limits)
    }

    func received(_ bytes: UnsafeRawBufferPointer, on connection: StreamConnection) {
        guard !connection.isClosing else { return }
        parser.append(bytes)
        process()
    }

    /// The client has read every response: requests held back by `outputLimit` can go on.
    func drained(_ connection: StreamConnection) { process() }

    func closed(_ connection: StreamConnection) {
        if let ticket = parkedWatch.take() { hub.cancel(ticket) }
    }

    /// A request that began but did not arrive in full within the request timeout gets a 408 before
    /// the close (RFC 9110 §15.5.9). An idle connection just closes, and so does one with a request
    /// in flight or unread responses: an answer now would come out of order.
    func deadlinePassed(_ connection: StreamConnection) {
        guard !inFlight, readAhead == nil, !parser.isIdle, connection.queuedByteCount == 0 else { return }
        counts.count(status: 408)
        let seconds = timeouts.requestNanoseconds / 1_000_000_000
        let response = HTTPResponse.error(
            status: 408, message: "request timeout: a request must arrive in full within \(seconds) s", close: true)
        connection.send(building: { response.write(into: &$0) })
        closeAfterWriting(connection)
    }

    private func process() {
        guard let connection, !processing, !connection.isClosing else { return }
        processing = true
        defer { processing = false }
        while connection.isOpen, !connection.isClosing, !inFlight, connection.queuedByteCount < Self.outputLimit {
            guard let next = readAhead.take() ?? nextFromParser() else {
                // A head waiting for its body, with nothing owed before it (an interim response must
                // not overtake a final one): the moment for `100 Continue`, if it asked.
                if parser.takeContinueRequest() {
                    connection.send(building: { HTTPResponse.writeContinue(into: &$0) })
                }
                break
            }
            switch next {
            case .request(let request): dispatch(request)
            case .failure(let error): fail(error, on: connection)
            }
        }
        guard connection.isOpen, !connection.isClosing else { return }
        if readAhead == nil, inFlight || connection.queuedByteCount >= Self.outputLimit {
            readAhead = nextFromParser()
        }
        if readAhead == nil { connection.resumeReading() } else { connection.pauseReading() }
        updateDeadline(connection)
    }

    private func nextFromParser() -> Next? {
        do throws(HTTPParseError) {
            guard let request = try parser.next() else { return nil }
            requestDeadlineSet = false
            return .request(request)
        } catch {
            return .failure(error)
        }
    }

    /// Answers a request that cannot be parsed and closes: where the next one would start is unknown.
    private func fail(_ error: HTTPParseError, on connection: StreamConnection) {
        counts.count(status: error.status)
        let response = HTTPResponse.error(error)
        connection.send(building: { response.write(into: &$0) })
        closeAfterWriting(connection)
    }

    /// Closes gracefully after the last response; the client has the idle timeout to read it, then
    /// the connection's own linger bound applies.
    private func closeAfterWriting(_ connection: StreamConnection) {
        connection.deadlineNanoseconds = Posix.monotonicNanoseconds() + timeouts.idleNanoseconds
        connection.closeAfterWriting()
    }

    private func dispatch(_ request: HTTPRequest) {
        if request.method == .post, let connection {
            var answered = false
            let jitter = nextJitter()
            connection.send(building: { answered = api.answerHeartbeat(request, jitter: jitter, counts: counts, into: &$0) })
            if answered {
                if !request.keepAlive { closeAfterWriting(connection) }
                return
            }
        }
        inFlight = true
        inFlightKeepAlive = request.keepAlive
        inFlightIsHead = request.method == .head
        let loop = connection?.loop
        let bound = LoopBound(self, loop: loop)
        let outcome = api.handle(request, certificateNames: connection?.security?.peerNames ?? []) { response in
            loop?.executeSoon { bound.value?.finish(response) }
        }
        switch outcome {
        case .respond(let response):
            finish(response)
        case .pending:
            break
        case .watch(let key, let afterIndex, let waitMilliseconds):
            parkedWatch = hub.park(self, key: key, afterIndex: afterIndex, waitMilliseconds: waitMilliseconds)
        }
    }

    /// Writes the response to the request in flight and moves on to the next one. Loop thread only.
    func finish(_ response: HTTPResponse) {
        guard inFlight, let connection, connection.isOpen else { return }
        inFlight = false
        parkedWatch = nil
        counts.count(status: response.status)
        var response = response
        let keepAlive = inFlightKeepAlive
        response.close = !keepAlive
        connection.send(building: { response.write(into: &$0, includeBody: !inFlightIsHead) })
        guard keepAlive else {
            closeAfterWriting(connection)
            return
        }
        if !processing { process() }
    }

    /// A value in 0..<1 for `next_heartbeat_in`'s jitter.
    private func nextJitter() -> Double { jitter.nextUnit() }

    private func updateDeadline(_ connection: StreamConnection) {
        let now = Posix.monotonicNanoseconds()
        let junkReadAhead = if case .failure? = readAhead { true } else { false }
        if junkReadAhead || (readAhead == nil && !parser.isIdle) {
            // Part of a request is in, possibly behind one in flight (a parked watch with bytes after
            // it): it has the request timeout from its first byte, however it trickles in. Bytes that
            // cannot be a request wait no longer than that behind a watch either.
            if !requestDeadlineSet {
                requestDeadlineSet = true
                connection.deadlineNanoseconds = now + timeouts.requestNanoseconds
            }
        } else if connection.queuedByteCount >= Self.outputLimit {
            // The client is not reading its responses: it has the idle timeout to start.
            connection.deadlineNanoseconds = now + timeouts.idleNanoseconds
        } else if inFlight {
            // A parked watch answers by its own timer, a store write by its reply.
            connection.deadlineNanoseconds = .max
        } else {
            connection.deadlineNanoseconds = now + timeouts.idleNanoseconds
        }
    }
}
