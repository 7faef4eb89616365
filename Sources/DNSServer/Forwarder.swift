import Authority
import DNSWire
import Leases
import PosixIO
import Synchronization

/// Forwards queries for names outside the served zones to upstream resolvers (`--upstream`).
///
/// Each try uses a fresh random ID and a fresh UDP socket (so a fresh source port), connected to the
/// upstream so the kernel drops datagrams from any other address and reports an ICMP refusal at
/// once. A reply is accepted only if its ID and question match; TC sends the query again over TCP.
/// A try that times out or fails moves to the next upstream; when every upstream has failed the
/// client gets SERVFAIL. At most `maximumInFlight` queries are forwarded at a time: past that the
/// client gets SERVFAIL at once, so a flood cannot exhaust descriptors.
package final class Forwarder: @unchecked Sendable {
    // `pending` and the sockets are touched only on `loop`'s thread.
    package struct Options: Sendable {
        package var upstreams: [SocketAddress]
        package var tryTimeoutMilliseconds = 1_500
        package var maximumInFlight = 1_024
        package init(upstreams: [SocketAddress]) { self.upstreams = upstreams }
    }

    private let options: Options
    private let loop: EventLoop
    private var thread: ThreadHandle?
    private let inFlight = Atomic<Int>(0)
    private var pending: [CInt: PendingQuery] = [:]

    package init(options: Options) throws(SystemCallError) {
        self.options = options
        loop = try EventLoop()
    }

    package func start() {
        thread = Threads.start(name: "beacon-forward") { [loop] in loop.run() }
    }

    package func stop() {
        loop.stop()
        thread?.join()
    }

    /// Forwards `query` (as the client sent it) and calls `completion` with the bytes to send back:
    /// the upstream's answer with the client's ID, RA set and AA clear; a TC answer when it does not fit
    /// `clientLimit`; or SERVFAIL.
    package func forward(_ query: [UInt8], clientLimit: Int, completion: @escaping @Sendable ([UInt8]) -> Void) {
        guard inFlight.add(1, ordering: .relaxed).newValue <= options.maximumInFlight, !options.upstreams.isEmpty else {
            inFlight.subtract(1, ordering: .relaxed)
            completion(Self.failure(query, rcode: .servFail, limit: clientLimit))
            return
        }
        loop.execute { [self] in
            let request = PendingQuery(query: query, clientLimit: clientLimit, completion: completion)
            attempt(request, upstream: 0)
        }
    }

    // MARK: - Tries (loop thread)

    private func attempt(_ request: PendingQuery, upstream index: Int) {
        guard index < options.upstreams.count else {
            finish(request, with: Self.failure(request.query, rcode: .servFail, limit: request.clientLimit))
            return
        }
        let upstream = options.upstreams[index]
        request.upstreamIndex = index
        request.id = UInt16.random(in: 0...UInt16.max)
        var outgoing = request.query
        outgoing[0] = UInt8(request.id >> 8)
        outgoing[1] = UInt8(truncatingIfNeeded: request.id)
        do throws(SystemCallError) {
            let socket = try Sockets.udpClient(connectedTo: upstream)
            _ = try outgoing.withUnsafeBytes { raw in
                catching { () throws(SystemCallError) in try Posix.send(socket.rawValue, from: raw) }
            }.get()
            let fd = socket.take()
            request.socket = fd
            pending[fd] = request
            try loop.register(fd, events: EventLoop.readable, handler: ReplyHandler(forwarder: self, fd: fd))
            request.timer = loop.schedule(afterMilliseconds: options.tryTimeoutMilliseconds) { [weak self] in
                self?.retry(fd)
            }
        } catch {
            closeSocket(of: request)
            attempt(request, upstream: index + 1)
        }
    }

    fileprivate func readable(_ fd: CInt) {
        guard let request = pending[fd] else { return }
        var buffer = [UInt8](repeating: 0, count: 65_535)
        let result = buffer.withUnsafeMutableBytes { raw in
            catching { () throws(SystemCallError) in try Posix.read(fd, into: raw) }
        }
        switch result {
        case .success(.processed(let count)):
            let reply = Array(buffer[0..<count])
            guard Self.matches(reply, query: request.query, id: request.id) else { return }  // not ours: keep waiting
            loop.cancel(request.timer)
            closeSocket(of: request)
            if reply[2] & 0x02 != 0 {
                forwardOverTCP(request)
            } else {
                finish(request, with: Self.adapt(reply, to: request))
            }
        case .success(.wouldBlock):
            return
        case .failure:
            // ECONNREFUSED from an ICMP port-unreachable: this upstream is down, try the next now.
            retry(fd)
        }
    }

    private func retry(_ fd: CInt) {
        guard let request = pending[fd] else { return }
        loop.cancel(request.timer)
        closeSocket(of: request)
        attempt(request, upstream: request.upstreamIndex + 1)
    }

    private func forwardOverTCP(_ request: PendingQuery) {
        let upstream = options.upstreams[request.upstreamIndex]
        let timeout = options.tryTimeoutMilliseconds
        let bound = LoopBound(self, loop: loop)
        let box = UncheckedBox(request)
        Threads.detach(name: "beacon-fwd-tcp") { [loop] in
            let reply = Self.exchangeTCP(box.value.query, id: box.value.id, upstream: upstream, timeout: timeout)
            loop.execute {
                guard let forwarder = bound.value else { return }
                let request = box.value
                if let reply, Self.matches(reply, query: request.query, id: request.id) {
                    forwarder.finish(request, with: Self.adapt(reply, to: request))
                } else {
                    forwarder.attempt(request, upstream: request.upstreamIndex + 1)
                }
            }
        }
    }

    private static func exchangeTCP(_ query: [UInt8], id: UInt16, upstream: SocketAddress, timeout: Int) -> [UInt8]? {
        var outgoing = query
        outgoing[0] = UInt8(id >> 8)
        outgoing[1] = UInt8(truncatingIfNeeded: id)
        guard let stream = try? BlockingStream(connectingTo: upstream, timeoutMilliseconds: timeout) else { return nil }
        guard (try? stream.write([UInt8(outgoing.count >> 8), UInt8(truncatingIfNeeded: outgoing.count)] + outgoing))
            != nil
        else { return nil }
        var framer = TCPFramer()
        while let chunk = try? stream.read(), !chunk.isEmpty {
            framer.append(chunk)
            if case .message(let message) = framer.next() { return message }
        }
        return nil
    }

    private func finish(_ request: PendingQuery, with reply: [UInt8]) {
        inFlight.subtract(1, ordering: .relaxed)
        request.completion(reply)
    }

    private func closeSocket(of request: PendingQuery) {
        guard let fd = request.socket else { return }
        loop.deregister(fd)
        Posix.close(fd)
        pending[fd] = nil
        request.socket = nil
    }

    // MARK: - Messages

    /// A reply is ours if its ID is the one we sent, QR is set, and its question equals ours
    /// (ignoring case: some upstreams lower-case it).
    static func matches(_ reply: [UInt8], query: [UInt8], id: UInt16) -> Bool {
        guard reply.count >= 12, query.count >= 12, UInt16(reply[0]) << 8 | UInt16(reply[1]) == id,
            reply[2] & 0x80 != 0, reply[4] == 0, reply[5] == 1,
            let end = questionEnd(query), end <= reply.count
        else { return false }
        for index in 12..<end where asciiLower(reply[index]) != asciiLower(query[index]) { return false }
        return true
    }

    /// The largest UDP reply the client takes (512 without EDNS), at most `maximum` (`--udp-max-payload`).
    package static func udpLimit(of query: [UInt8], maximum: Int) -> Int {
        query.withUnsafeBytes { raw in
            if case .query(let parsed) = ResponsePolicy.decide(raw) {
                return ResponsePolicy.udpLimit(for: parsed.edns, maximum: maximum)
            }
            return 512
        }
    }

    /// The client's ID and question bytes (0x20 case kept), RA set, AA clear; TC when it exceeds `clientLimit`.
    static func adapt(_ reply: [UInt8], to request: PendingQuery) -> [UInt8] {
        var answer = reply
        answer[0] = request.query[0]
        answer[1] = request.query[1]
        if let end = questionEnd(request.query) {
            for index in 12..<end { answer[index] = request.query[index] }
        }
        answer[2] &= ~0x04  // AA
        answer[3] |= 0x80  // RA
        guard answer.count <= request.clientLimit else {
            return failure(request.query, rcode: RCode(UInt16(answer[3] & 0x0F)), limit: request.clientLimit, truncated: true)
        }
        return answer
    }

    /// A response with no records: SERVFAIL, or a TC marker telling the client to retry over TCP.
    static func failure(_ query: [UInt8], rcode: RCode, limit: Int, truncated: Bool = false) -> [UInt8] {
        var writer = WireWriter(capacity: 512)
        let parsed: ParsedQuery? = query.withUnsafeBytes { raw in
            if case .query(let parsed) = ResponsePolicy.decide(raw) { return parsed }
            return nil
        }
        guard let parsed else { return [] }
        _ = ResponseWriter.write(
            query: parsed.header, question: parsed.question, clientEDNS: parsed.edns, rcode: rcode, authoritative: false,
            recursionAvailable: true, limit: max(limit, 512), into: &writer)
        if truncated { writer.bytes[2] |= 0x02 }
        return writer.bytes
    }

    static func questionEnd(_ message: [UInt8]) -> Int? { message.withUnsafeBytes { Question.end(in: $0) } }
}

/// One query being forwarded.
final class PendingQuery {
    let query: [UInt8]
    let clientLimit: Int
    let completion: @Sendable ([UInt8]) -> Void
    var id: UInt16 = 0
    var upstreamIndex = 0
    var socket: CInt?
    var timer = TimerID.none

    init(query: [UInt8], clientLimit: Int, completion: @escaping @Sendable ([UInt8]) -> Void) {
        self.query = query
        self.clientLimit = clientLimit
        self.completion = completion
    }
}

/// Sends readiness of one forwarding socket back to the forwarder.
private final class ReplyHandler: EventHandler {
    weak var forwarder: Forwarder?
    let fd: CInt
    init(forwarder: Forwarder, fd: CInt) {
        self.forwarder = forwarder
        self.fd = fd
    }
    func handleEvents(_ events: UInt32) { forwarder?.readable(fd) }
}

/// Carries a loop-owned object through another thread, which only hands it back to the loop.
struct UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
