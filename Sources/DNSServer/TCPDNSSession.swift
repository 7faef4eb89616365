import Authority
import DNSWire
import Leases
import PosixIO
import Synchronization

/// One TCP DNS connection: frames in, answers out, in order.
///
/// Bounded in what one peer can make the loop hold or do:
/// - output: past `outputCap` bytes queued (a peer that does not read its answers) no further query
///   is answered and reading stops, until everything queued is written;
/// - work: at most `answersPerTurn` answers per turn, then the rest waits for a later turn of the
///   loop, so one pipelining connection cannot keep the others on its loop waiting;
/// - time: a message must arrive in full within `messageNanoseconds` of its first byte (trickling
///   bytes does not extend it), and between messages the connection may idle `idleNanoseconds`.
final class TCPDNSSession: StreamSession {
    struct Timeouts {
        var idleNanoseconds: Int64
        var messageNanoseconds: Int64
    }

    /// The loop's buffer for answers on the fast path: a whole TCP message with its length prefix.
    final class OutputBuffer {
        let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: 2 + 0xFFFF, alignment: 8)
        deinit { bytes.deallocate() }
    }

    /// Queued output past which answering (and reading) pauses until the peer has read it all.
    static let outputCap = 64 << 10
    static let answersPerTurn = 32

    private var framer = TCPFramer()
    private let worker: DNSWorker
    private let output: OutputBuffer
    private let timeouts: Timeouts
    private let forward: TCPServer.ForwardHandler?
    private let counters: DNSCounters
    /// When the first byte of the message still incomplete in `framer` arrived.
    private var messageStartedAt: Int64? = nil
    // Why reading is paused; it resumes when none holds.
    private var awaitingForward = false
    private var awaitingDrain = false
    private var turnScheduled = false

    init(
        worker: DNSWorker, output: OutputBuffer, timeouts: Timeouts, forward: TCPServer.ForwardHandler?,
        counters: DNSCounters
    ) {
        self.worker = worker
        self.output = output
        self.timeouts = timeouts
        self.forward = forward
        self.counters = counters
    }

    func received(_ bytes: UnsafeRawBufferPointer, on connection: StreamConnection) {
        let now = DNSEngine.now()
        if framer.pendingByteCount == 0, !bytes.isEmpty { messageStartedAt = now.nanoseconds }
        framer.append(bytes)
        answerQueued(on: connection, now: now)
    }

    func drained(_ connection: StreamConnection) {
        guard awaitingDrain else { return }
        awaitingDrain = false
        answerQueued(on: connection, now: DNSEngine.now())
    }

    func closed(_ connection: StreamConnection) {}

    /// Answers the complete messages in `framer` until one of the bounds says to wait.
    private func answerQueued(on connection: StreamConnection, now: Instant) {
        var answered = 0
        loop: while connection.isOpen, !awaitingForward, !awaitingDrain, !turnScheduled {
            if connection.queuedByteCount >= Self.outputCap {
                awaitingDrain = true
                break
            }
            if answered == Self.answersPerTurn {
                scheduleTurn(on: connection)
                break
            }
            switch framer.next() {
            case .needMore:
                break loop
            case .zeroLength:
                connection.close()
                return
            case .message(let query):
                answered += 1
                messageStartedAt = framer.pendingByteCount > 0 ? now.nanoseconds : nil
                connection.lastProgressNanoseconds = now.nanoseconds
                answer(query, on: connection, now: now)
            }
        }
        guard connection.isOpen, !connection.isClosing else { return }
        if awaitingForward || awaitingDrain || turnScheduled {
            connection.pauseReading()
            // Waiting on us or on the peer reading: the idle timeout applies.
            connection.deadlineNanoseconds = now.nanoseconds + timeouts.idleNanoseconds
        } else {
            connection.resumeReading()
            connection.deadlineNanoseconds =
                messageStartedAt.map { $0 + timeouts.messageNanoseconds } ?? now.nanoseconds + timeouts.idleNanoseconds
        }
    }

    /// Lets the loop serve its other connections first, then answers the rest.
    private func scheduleTurn(on connection: StreamConnection) {
        turnScheduled = true
        let bound = LoopBound(connection, loop: connection.loop)
        let session = LoopBound(self, loop: connection.loop)
        connection.loop.execute {
            guard let session = session.value else { return }
            session.turnScheduled = false
            guard let connection = bound.value, connection.isOpen else { return }
            session.answerQueued(on: connection, now: DNSEngine.now())
        }
    }

    private func answer(_ query: [UInt8], on connection: StreamConnection, now: Instant) {
        counters.tcpQueries.add(1, ordering: .relaxed)
        let buffer = output.bytes
        let length = query.withUnsafeBytes { query in
            worker.answerFast(
                query, transport: .tcp, now: now, into: UnsafeMutableRawBufferPointer(rebasing: buffer[2...]))
        }
        if length > 0 {
            buffer[0] = UInt8(length >> 8)
            buffer[1] = UInt8(truncatingIfNeeded: length)
            connection.send(building: { $0.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[0..<(2 + length)])) })
            return
        }
        switch query.withUnsafeBytes({ worker.answer($0, transport: .tcp, now: now) }) {
        case .send:
            let response = worker.writer.bytes
            connection.send(building: { buffer in
                buffer.append(UInt8(response.count >> 8))
                buffer.append(UInt8(truncatingIfNeeded: response.count))
                buffer.append(contentsOf: response)
            })
        case .drop:
            // A response (QR set) or a frame too short for a header gets no reply, but the length
            // prefix kept the stream in step, so the queries after it are answered (CONTRACT).
            // RFC 7766 §6.2.5 would allow closing; that lost every query behind it.
            break
        case .forward:
            guard let forward else { return }
            awaitingForward = true
            let loop = connection.loop
            let bound = LoopBound(connection, loop: loop)
            let session = LoopBound(self, loop: loop)
            forward(query) { answer in
                loop.execute {
                    guard let connection = bound.value, connection.isOpen, let session = session.value else { return }
                    if let answer {
                        connection.send([UInt8(answer.count >> 8), UInt8(truncatingIfNeeded: answer.count)] + answer)
                    }
                    session.awaitingForward = false
                    // Queries pipelined behind the forwarded one are answered now, not when more bytes come.
                    session.answerQueued(on: connection, now: DNSEngine.now())
                }
            }
        }
    }
}
