import BeaconRuntime
import DNSServer
import DNSWire
import HTTPWire
import PosixIO
import Synchronization
import Testing

/// Issue 14, DNS over TCP: what one client can make a TCP loop hold or wait on, and the other
/// clients that must still be answered. Loopback only; every wait is bounded.
@Suite("Hostile DNS-over-TCP clients", .serialized)
struct HostileTCPDNSTests {
    static func frame(_ id: UInt16, _ name: String, _ type: RRType = .soa) throws -> [UInt8] {
        let bytes = try Message(header: Header(id: id), questions: [Question(name: try DomainName(name), type: type)])
            .encode()
        return [UInt8(bytes.count >> 8), UInt8(bytes.count & 0xFF)] + bytes
    }

    /// Reads framed replies until `count` arrived or the stream ends.
    static func replies(_ stream: borrowing BlockingStream, count: Int) throws -> [Message] {
        var framer = TCPFramer()
        var replies: [Message] = []
        while replies.count < count {
            let chunk = try stream.read()
            if chunk.isEmpty { break }
            framer.append(chunk)
            while case .message(let message) = framer.next() { replies.append(try Message.decode(message)) }
        }
        return replies
    }

    static func closedByServer(_ stream: borrowing BlockingStream) -> Bool {
        do throws(SystemCallError) {
            return try stream.read().isEmpty
        } catch {
            return error.errno != .timedOut
        }
    }

    static func milliseconds(since start: Int64) -> Int64 { (Posix.monotonicNanoseconds() - start) / 1_000_000 }

    /// Item 8: bytes trickled into one message do not extend its time; before, every byte restarted
    /// the 10 s idle timer.
    @Test func aMessageTrickledByteByByteIsCutAtItsMessageTimeout() throws {
        let beacon = try RunningBeacon {
            $0.tcpIdleMilliseconds = 10_000
            $0.tcpMessageMilliseconds = 600
        }
        let stream = try BlockingStream(connectingTo: beacon.server.dnsAddress, timeoutMilliseconds: 150)
        let query = try Self.frame(1, "local.")
        let started = Posix.monotonicNanoseconds()
        var closed = false
        for byte in query.dropLast() where !closed {
            try? stream.write([byte])
            closed = Self.closedByServer(stream)  // waits 150 ms
            if Self.milliseconds(since: started) > 3_000 { break }
        }
        #expect(closed, "still open after \(Self.milliseconds(since: started)) ms of trickling")
        #expect(Self.milliseconds(since: started) < 1_500)
        #expect(beacon.server.dnsCounters.tcpConnectionsTimedOut.load(ordering: .relaxed) >= 1)
    }

    /// Between messages the idle timeout applies, not the message timeout.
    @Test func anIdleConnectionBetweenMessagesOutlivesTheMessageTimeout() throws {
        let beacon = try RunningBeacon {
            $0.tcpIdleMilliseconds = 10_000
            $0.tcpMessageMilliseconds = 300
        }
        let stream = try BlockingStream(connectingTo: beacon.server.dnsAddress, timeoutMilliseconds: 2_000)
        try stream.write(try Self.frame(1, "local."))
        #expect(try Self.replies(stream, count: 1).map(\.header.id) == [1])
        Posix.sleep(milliseconds: 900)
        try stream.write(try Self.frame(2, "local."))
        #expect(try Self.replies(stream, count: 1).map(\.header.id) == [2])
    }

    /// Item 8: at `--max-tcp-connections`, connections that never complete a message give way to a
    /// new client (the least recently active first), instead of keeping every real query out.
    @Test func aFullListenerEvictsTheConnectionsThatCompleteNothing() throws {
        let beacon = try RunningBeacon {
            $0.tcpMaxConnections = 4
            $0.tcpThreads = 1
            $0.tcpMessageMilliseconds = 60_000
        }
        var loris: [CInt] = []
        defer { for socket in loris { Posix.close(socket) } }
        for _ in 0..<4 {
            let socket = try Sockets.tcpConnect(to: beacon.server.dnsAddress, timeoutMilliseconds: 2_000).take()
            loris.append(socket)
            _ = try [UInt8(0)].withUnsafeBytes { (bytes) throws(SystemCallError) in try Posix.send(socket, from: bytes) }
        }
        Posix.sleep(milliseconds: 100)
        for id in 1...3 as ClosedRange<UInt16> {
            let client = try BlockingStream(connectingTo: beacon.server.dnsAddress, timeoutMilliseconds: 2_000)
            try client.write(try Self.frame(id, "local."))
            #expect(try Self.replies(client, count: 1).map(\.header.id) == [id], "client \(id) was answered")
        }
        #expect(beacon.server.dnsCounters.tcpConnectionsEvicted.load(ordering: .relaxed) >= 1)
        #expect(beacon.server.dnsCounters.tcpConnectionsRejected.load(ordering: .relaxed) == 0)
    }

    /// Item 7: a client pipelining queries for large answers without reading stops being answered
    /// once its queued output passes the cap; reading lets the rest through, every one in order.
    @Test func unreadAnswersStopTheConnectionAndReadingResumesIt() throws {
        let beacon = try RunningBeacon { $0.tcpThreads = 1 }
        for index in 0..<300 {
            try beacon.register([
                "service": "big", "function": "f", "id": .string("instance-\(index)"),
                "address": .string("10.1.\(index / 250).\(index % 250 + 1)"), "port": 80, "ttl": 600,
            ])
        }
        let count = 400
        var bytes: [UInt8] = []
        for id in 0..<count { bytes += try Self.frame(UInt16(id), "f.big.local.", .srv) }
        let stream = try BlockingStream(connectingTo: beacon.server.dnsAddress, timeoutMilliseconds: 3_000)
        try stream.write(bytes)
        Posix.sleep(milliseconds: 500)
        // Each answer is about 16 KB: a few are queued and in the kernel's buffers, not all 400.
        let answered = beacon.server.dnsCounters.tcpQueries.load(ordering: .relaxed)
        #expect(answered < 200, "\(answered) of \(count) answered with none read")
        // Another client on the same loop is answered meanwhile.
        let started = Posix.monotonicNanoseconds()
        let other = try BlockingStream(connectingTo: beacon.server.dnsAddress, timeoutMilliseconds: 2_000)
        try other.write(try Self.frame(9_999, "local."))
        #expect(try Self.replies(other, count: 1).map(\.header.id) == [9_999])
        #expect(Self.milliseconds(since: started) < 500)
        let replies = try Self.replies(stream, count: count)
        #expect(replies.map(\.header.id) == (0..<count).map { UInt16($0) })
        #expect(replies.allSatisfy { $0.answers.count == 300 })
    }

    /// Item 7, fairness: a connection with thousands of small queries pipelined shares its loop; a
    /// query on another connection is answered while they are still being worked through.
    @Test func aLongPipelineYieldsToOtherConnectionsOnItsLoop() throws {
        let beacon = try RunningBeacon { $0.tcpThreads = 1 }
        var bytes: [UInt8] = []
        for id in 0..<5_000 { bytes += try Self.frame(UInt16(id), "nothing.local.") }
        let busy = try BlockingStream(connectingTo: beacon.server.dnsAddress, timeoutMilliseconds: 3_000)
        try busy.write(bytes)
        let other = try BlockingStream(connectingTo: beacon.server.dnsAddress, timeoutMilliseconds: 2_000)
        try other.write(try Self.frame(60_000, "local."))
        #expect(try Self.replies(other, count: 1).map(\.header.id) == [60_000])
        #expect(try Self.replies(busy, count: 5_000).count == 5_000)
    }

    /// More than one TCP loop answers on the one port.
    @Test func severalTCPLoopsShareOnePort() throws {
        let beacon = try RunningBeacon { $0.tcpThreads = 3 }
        for id in 1...12 as ClosedRange<UInt16> {
            let client = try BlockingStream(connectingTo: beacon.server.dnsAddress, timeoutMilliseconds: 2_000)
            try client.write(try Self.frame(id, "local."))
            #expect(try Self.replies(client, count: 1).map(\.header.id) == [id])
        }
    }
}
