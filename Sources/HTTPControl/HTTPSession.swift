import HTTPWire
import Leases
import PosixIO

/// One HTTP/1.1 connection: parses requests, answers them strictly in order (pipelining), keeps
/// the connection alive or closes it, and enforces the idle and slow-client deadlines.
final class HTTPSession: StreamSession {
    struct Timeouts {
        var idleNanoseconds: Int64
        /// How long a request may take to arrive in full once its first byte is in (slow-loris guard).
        var requestNanoseconds: Int64
    }

    private let api: ControlAPI
    private let hub: WatchHub
    private let counts: HTTPStatusCounts
    /// xorshift state for heartbeat jitter: per connection, so no lock.
    private var jitterState: UInt64
    private let timeouts: Timeouts
    private var parser: HTTPRequestParser
    private weak var connection: StreamConnection?
    /// A request has been dispatched and its response is not written yet.
    private var inFlight = false
    private var inFlightKeepAlive = true
    private var inFlightIsHead = false
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
        jitterState = UInt64(bitPattern: Posix.monotonicNanoseconds()) | 1
        self.timeouts = timeouts
        parser = HTTPRequestParser(limits: limits)
    }

    func received(_ bytes: UnsafeRawBufferPointer, on connection: StreamConnection) {
        parser.append(bytes)
        process()
    }

    func closed(_ connection: StreamConnection) {}

    private func process() {
        guard let connection, !processing else { return }
        processing = true
        defer { processing = false }
        while !inFlight, connection.isOpen {
            if parser.takeContinueRequest() {
                connection.send(building: { HTTPResponse.writeContinue(into: &$0) })
            }
            let request: HTTPRequest?
            do throws(HTTPParseError) {
                request = try parser.next()
            } catch {
                counts.count(status: error.status)
                let response = HTTPResponse.error(error)
                connection.send(building: { response.write(into: &$0) })
                connection.closeAfterWriting()
                return
            }
            guard let request else { break }
            requestDeadlineSet = false
            dispatch(request)
        }
        updateDeadline()
    }

    private func dispatch(_ request: HTTPRequest) {
        if request.method == .post, let connection {
            var answered = false
            let jitter = nextJitter()
            connection.send(building: { answered = api.answerHeartbeat(request, jitter: jitter, counts: counts, into: &$0) })
            if answered {
                if !request.keepAlive { connection.closeAfterWriting() }
                return
            }
        }
        inFlight = true
        inFlightKeepAlive = request.keepAlive
        inFlightIsHead = request.method == .head
        let loop = connection?.loop
        let bound = LoopBound(self)
        let outcome = api.handle(request) { response in
            loop?.executeSoon { bound.value?.finish(response) }
        }
        switch outcome {
        case .respond(let response):
            finish(response)
        case .pending:
            break
        case .watch(let key, let afterIndex, let waitMilliseconds):
            hub.park(self, key: key, afterIndex: afterIndex, waitMilliseconds: waitMilliseconds)
        }
    }

    /// Writes the response to the request in flight and moves on to the next one. Loop thread only.
    func finish(_ response: HTTPResponse) {
        guard inFlight, let connection, connection.isOpen else { return }
        inFlight = false
        counts.count(status: response.status)
        var response = response
        let keepAlive = inFlightKeepAlive
        response.close = !keepAlive
        connection.send(building: { response.write(into: &$0, includeBody: !inFlightIsHead) })
        guard keepAlive else {
            connection.closeAfterWriting()
            return
        }
        if !processing { process() }
    }

    /// A value in 0..<1 for `next_heartbeat_in`'s jitter (xorshift64).
    private func nextJitter() -> Double {
        jitterState ^= jitterState << 13
        jitterState ^= jitterState >> 7
        jitterState ^= jitterState << 17
        return Double(jitterState >> 11) / Double(1 << 53)
    }

    private func updateDeadline() {
        guard let connection else { return }
        let now = Posix.monotonicNanoseconds()
        if inFlight {
            // A parked watch has its own timer; the connection stays while it waits.
            connection.deadlineNanoseconds = Int64.max
        } else if parser.isIdle {
            connection.deadlineNanoseconds = now + timeouts.idleNanoseconds
        } else if !requestDeadlineSet {
            // Set once per request: trickling bytes must not keep pushing it back.
            requestDeadlineSet = true
            connection.deadlineNanoseconds = now + timeouts.requestNanoseconds
        }
    }
}
