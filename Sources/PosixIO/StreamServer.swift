import CGlue
import Glibc

/// The protocol side of one stream connection (TCP DNS, HTTP). Called on the loop thread.
package protocol StreamSession: AnyObject {
    /// Bytes arrived. The session answers through `connection.send` and may close it.
    func received(_ bytes: UnsafeRawBufferPointer, on connection: StreamConnection)
    /// Everything queued has been written (a chance to resume reading or close).
    func drained(_ connection: StreamConnection)
    /// The connection is gone; release what refers to it.
    func closed(_ connection: StreamConnection)
    /// The connection's deadline passed (idle, or a request too slow). The session may queue a last
    /// response and call `closeAfterWriting`; otherwise the connection closes at once.
    func deadlinePassed(_ connection: StreamConnection)
}

extension StreamSession {
    package func drained(_ connection: StreamConnection) {}
    package func deadlinePassed(_ connection: StreamConnection) {}
}

/// One accepted, non-blocking stream socket on an event loop: buffered writes, back-pressure, a
/// deadline after which the listener's sweep closes it, and a graceful close.
package final class StreamConnection: EventHandler {
    package let loop: EventLoop
    package let peer: SocketAddress?
    private var descriptor: FileDescriptor?
    private let fd: CInt
    package var session: (any StreamSession)?
    /// TLS between the socket and the session, when the listener has it (StreamConnection+Security).
    package internal(set) var security: (any StreamSecurity)?
    var outbound: [UInt8] = []
    private var outboundStart = 0
    private(set) var closeWhenDrained = false
    /// Input read and thrown away since `closeAfterWriting`.
    private var discardedByteCount = 0
    private(set) var readingPaused = false
    private(set) weak var listener: StreamListener?
    /// When the sweep closes the connection if nothing moves it later (idle or slow-client timeout).
    package var deadlineNanoseconds: Int64
    /// When the session last completed something for this peer (accept time until then): a full
    /// listener that evicts (`StreamListener.evictsWhenFull`) closes the connection where this is oldest.
    package var lastProgressNanoseconds: Int64
    /// Queued output above which reading stops until the peer catches up.
    package static let maximumQueuedBytes = 1 << 20
    /// How much input a closing connection reads and throws away, and for how long after its last byte
    /// is written it waits for the peer's EOF (see `closeAfterWriting`).
    package static let lingerByteLimit = 16 << 20
    package static let lingerNanoseconds: Int64 = 2_000_000_000

    init(descriptor: consuming FileDescriptor, peer: SocketAddress?, loop: EventLoop, listener: StreamListener,
        deadline: Int64)
    {
        fd = descriptor.rawValue
        self.descriptor = .some(descriptor)
        self.peer = peer
        self.loop = loop
        self.listener = listener
        deadlineNanoseconds = deadline
        lastProgressNanoseconds = Posix.monotonicNanoseconds()
    }

    package var isOpen: Bool { descriptor != nil }
    /// `closeAfterWriting` was called: the connection only finishes writing and lingers now.
    package var isClosing: Bool { closeWhenDrained }
    /// Everything is written and the sending side shut down; waiting for the peer's EOF.
    package private(set) var isLingering = false
    package var rawDescriptor: CInt { fd }
    package var queuedByteCount: Int { outbound.count - outboundStart }

    // MARK: - Writing

    /// Queues `bytes` and writes as much as the socket takes now.
    package func send(_ bytes: some Sequence<UInt8>) {
        guard isOpen else { return }
        if security != nil { return sendSealed { $0.append(contentsOf: bytes) } }
        outbound.append(contentsOf: bytes)
        flush()
    }

    /// Appends to the outbound buffer in place (no intermediate copy), then writes.
    package func send(building body: (inout [UInt8]) -> Void) {
        guard isOpen else { return }
        if security != nil { return sendSealed(building: body) }
        body(&outbound)
        flush()
    }

    /// Closes gracefully once everything queued has been written: shuts down the sending side, then
    /// reads and discards input until the peer's EOF, `lingerByteLimit` bytes or `lingerNanoseconds`.
    /// Closing with unread input would make the kernel send a reset, which can destroy the response
    /// before the client reads it (RFC 9112 §9.6), typically a 413 to a client still sending its body.
    /// From now on input is discarded, never passed to the session, and read even while output waits,
    /// so a peer blocked on sending can get to reading.
    package func closeAfterWriting() {
        guard isOpen, !closeWhenDrained else { return }
        if let security {
            security.shutdown()
            security.takeOutput(into: &outbound)
        }
        closeWhenDrained = true
        if queuedByteCount == 0 {
            linger()
        } else if security != nil {
            flush()  // the close alert just queued
        } else {
            updateInterest()
        }
    }

    private func linger() {
        isLingering = true
        Posix.shutdown(fd, how: CInt(SHUT_WR))
        deadlineNanoseconds = Posix.monotonicNanoseconds() + Self.lingerNanoseconds
        updateInterest()
    }

    /// Stops reading (back-pressure, or a request being processed) until `resumeReading`.
    package func pauseReading() {
        guard !readingPaused, isOpen else { return }
        readingPaused = true
        updateInterest()
    }

    package func resumeReading() {
        guard readingPaused, isOpen else { return }
        readingPaused = false
        updateInterest()
        if security?.hasBufferedInput == true { decryptBufferedSoon() }
    }

    func flush() {
        while queuedByteCount > 0 {
            let result = outbound.withUnsafeBytes { raw in
                catching { () throws(SystemCallError) in
                    try Posix.send(fd, from: UnsafeRawBufferPointer(rebasing: raw[outboundStart...]))
                }
            }
            switch result {
            case .success(.processed(let count)): outboundStart += count
            case .success(.wouldBlock):
                updateInterest()
                return
            case .failure:
                close()
                return
            }
        }
        outbound.removeAll(keepingCapacity: outbound.capacity <= 1 << 16)
        outboundStart = 0
        if closeWhenDrained {
            if !isLingering { linger() }
            return
        }
        updateInterest()
        session?.drained(self)
    }

    private var interest: UInt32 = EventLoop.readable

    func updateInterest() {
        guard isOpen else { return }
        var wanted: UInt32 = 0
        if closeWhenDrained || (!readingPaused && queuedByteCount < Self.maximumQueuedBytes) {
            wanted |= EventLoop.readable
        }
        if queuedByteCount > 0 { wanted |= EventLoop.writable }
        if wanted != interest {
            interest = wanted
            loop.modify(fd, events: wanted)
        }
    }

    // MARK: - Events

    package func handleEvents(_ events: UInt32) {
        if events & EventLoop.writable != 0 { flush() }
        if events & EventLoop.readable != 0, isOpen, closeWhenDrained { discardAvailable() }
        if events & EventLoop.readable != 0, isOpen, !readingPaused, !closeWhenDrained { readAvailable() }
        if events & EventLoop.hangUp != 0, isOpen, events & EventLoop.readable == 0 { close() }
    }

    private func readAvailable() {
        guard let listener else { return }
        // Bounded per event so one busy connection cannot starve the others on this loop.
        for _ in 0..<4 {
            let result = catching { () throws(SystemCallError) in try Posix.read(fd, into: listener.scratch) }
            switch result {
            case .success(.processed(0)), .failure:
                close()
                return
            case .success(.processed(let count)):
                if security != nil {
                    receiveSealed(count: count, in: listener)
                } else {
                    session?.received(UnsafeRawBufferPointer(rebasing: listener.scratch[0..<count]), on: self)
                }
                guard isOpen, !readingPaused, !closeWhenDrained, count == listener.scratch.count else {
                    updateInterest()
                    return
                }
            case .success(.wouldBlock):
                return
            }
        }
    }

    private func discardAvailable() {
        guard let listener else { return }
        for _ in 0..<4 {
            let result = catching { () throws(SystemCallError) in try Posix.read(fd, into: listener.scratch) }
            switch result {
            case .success(.processed(0)), .failure:
                close()
                return
            case .success(.processed(let count)):
                discardedByteCount += count
                if discardedByteCount > Self.lingerByteLimit {
                    close()
                    return
                }
            case .success(.wouldBlock):
                return
            }
        }
    }

    /// Called by the sweep: lets the session answer (a 408) and close gracefully, else closes now.
    func deadlinePassed() {
        session?.deadlinePassed(self)
        if !closeWhenDrained {
            close()
        } else if !isLingering {
            // Time to write the last response, then the linger's own deadline applies.
            deadlineNanoseconds = Posix.monotonicNanoseconds() + Self.lingerNanoseconds
        }
    }

    /// Closes now, dropping anything unsent.
    package func close() {
        guard let descriptor = descriptor.take() else { return }
        loop.deregister(fd)
        _ = consume descriptor
        listener?.connectionClosed(self)
        session?.closed(self)
        session = nil
    }
}

/// Accepts connections on one event loop, caps how many are open, and closes those past their deadline.
///
/// Used only on its loop's thread (other threads reach it through `EventLoop.execute`), which is what
/// the unchecked `Sendable` relies on.
package final class StreamListener: EventHandler, @unchecked Sendable {
    package let loop: EventLoop
    private let descriptor: FileDescriptor
    private var connections: [CInt: StreamConnection] = [:]
    package let maximumConnections: Int
    package let idleMilliseconds: Int
    private let makeSession: (StreamConnection) -> any StreamSession
    /// Shared read buffer: sessions consume bytes synchronously, so one per loop is enough.
    let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
    /// Called when a connection is refused for the cap, closed to make room for a new one, or closed
    /// for its deadline (for metrics).
    package var onRejected: () -> Void = {}
    package var onEvicted: () -> Void = {}
    package var onTimedOut: () -> Void = {}
    /// With TLS: makes each connection's layer (nil refuses the connection), and the time its
    /// handshake must complete in, from the accept (slow-handshake guard; the idle time without it).
    package var makeSecurity: (() -> (any StreamSecurity)?)? = nil
    package var handshakeMilliseconds: Int? = nil
    /// Called with the reason when a TLS handshake or record fails (for metrics and a debug log).
    package var onSecurityFailed: (String) -> Void = { _ in }
    /// Plaintext staged by `send` before it is sealed: shared, as sessions send synchronously.
    var sealScratch: [UInt8] = []
    /// At the cap, close the connection that made progress least recently to take the new one,
    /// instead of refusing it (RFC 7766 §6.2.3 lets a server close idle connections under pressure):
    /// connections that hold a slot without completing anything cannot keep real clients out.
    package var evictsWhenFull = false

    package init(
        descriptor: consuming FileDescriptor, loop: EventLoop, maximumConnections: Int, idleMilliseconds: Int,
        makeSession: @escaping (StreamConnection) -> any StreamSession
    ) {
        self.descriptor = descriptor
        self.loop = loop
        self.maximumConnections = maximumConnections
        self.idleMilliseconds = idleMilliseconds
        self.makeSession = makeSession
    }

    deinit { scratch.deallocate() }

    package var openConnections: Int { connections.count }

    /// Registers with the loop and starts the deadline sweep. Call on the loop thread.
    package func start() throws(SystemCallError) {
        try loop.register(descriptor.rawValue, events: EventLoop.readable, handler: self)
        scheduleSweep()
    }

    /// Stops accepting and closes every connection. Call on the loop thread.
    package func stop() {
        loop.deregister(descriptor.rawValue)
        Posix.shutdown(descriptor.rawValue, how: CInt(SHUT_RDWR))
        for connection in Array(connections.values) { connection.close() }
    }

    package func handleEvents(_ events: UInt32) {
        for _ in 0..<64 {
            guard case .success(.processed(let (client, peer))) = catching({ () throws(SystemCallError) in
                try Posix.accept(descriptor.rawValue)
            }) else { return }
            let owned = FileDescriptor(taking: client)
            if connections.count >= maximumConnections {
                // O(connections), only while full: an accept then costs a few microseconds more.
                guard evictsWhenFull,
                    let victim = connections.values.min(by: { $0.lastProgressNanoseconds < $1.lastProgressNanoseconds })
                else {
                    onRejected()
                    continue  // `owned` closes here
                }
                onEvicted()
                victim.close()
            }
            try? Posix.setOption(client, level: CInt(IPPROTO_TCP), name: TCP_NODELAY, value: 1)
            var security: (any StreamSecurity)? = nil
            if let makeSecurity {
                guard let made = makeSecurity() else {
                    onSecurityFailed("cannot create a TLS connection")
                    continue  // `owned` closes here
                }
                security = made
            }
            let firstDeadline = security == nil ? idleMilliseconds : handshakeMilliseconds ?? idleMilliseconds
            let connection = StreamConnection(
                descriptor: owned, peer: peer, loop: loop, listener: self,
                deadline: Posix.monotonicNanoseconds() + Int64(firstDeadline) * 1_000_000)
            connection.security = security
            connections[client] = connection
            connection.session = makeSession(connection)
            do throws(SystemCallError) {
                try loop.register(client, events: EventLoop.readable, handler: connection)
            } catch {
                connection.close()
            }
        }
    }

    func connectionClosed(_ connection: StreamConnection) {
        connections[connection.rawDescriptor] = nil
    }

    private func scheduleSweep() {
        loop.schedule(afterMilliseconds: 250) { [weak self] in
            guard let self else { return }
            let now = Posix.monotonicNanoseconds()
            for connection in connections.values where connection.deadlineNanoseconds <= now {
                if connection.isClosing {
                    connection.close()  // its last response or linger ran out of time
                } else {
                    onTimedOut()
                    connection.deadlinePassed()
                }
            }
            scheduleSweep()
        }
    }
}
