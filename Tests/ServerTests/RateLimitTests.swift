import BeaconRuntime
import DNSServer
import DNSWire
import Dispatch
import PosixIO
import Synchronization
import Testing

@Suite("Response rate limiting (--rrl)", .serialized)
struct RateLimitTests {
    @Test func aPrefixGetsItsRateThenEverySecondLimitedResponseSlips() {
        let limiter = ResponseRateLimiter(responsesPerSecond: 3, slip: 2)
        let decisions = (0..<9).map { _ in limiter.decide(prefix: 42, second: 100) }
        #expect(decisions == [.allow, .allow, .allow, .drop, .slip, .drop, .slip, .drop, .slip])
        // A new second starts a new budget; another prefix has its own.
        #expect(limiter.decide(prefix: 42, second: 101) == .allow)
        #expect(limiter.decide(prefix: 43, second: 100) == .allow)
    }

    /// Issue 14 item 9: one limiter counts for every UDP thread, so the budget is per source, not per
    /// source and thread; and concurrent counting loses no increment.
    @Test func threadsSharingTheLimiterShareOneBudget() {
        let limiter = ResponseRateLimiter(responsesPerSecond: 100, slip: 0)
        let allowed = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            for _ in 0..<10_000 where limiter.decide(prefix: 7, second: 5) == .allow {
                allowed.add(1, ordering: .relaxed)
            }
        }
        #expect(allowed.load(ordering: .relaxed) == 100)
    }

    @Test func aSlipIsTheQueryHeaderAndQuestionWithTCAndABareOPT() throws {
        var query = Message(header: Header(id: 0xBEEF, flags: 0x0110))  // RD and CD
        query.questions = [Question(name: try DomainName("Big.Orders.local."), type: .srv)]
        query.additionals = [EDNS(udpPayloadSize: 4096, flags: 0x8000).record]
        let bytes = try query.encode()
        let output = UnsafeMutableRawBufferPointer.allocate(byteCount: 1232, alignment: 8)
        defer { output.deallocate() }
        let length = bytes.withUnsafeBytes {
            ResponseRateLimiter.writeSlip(query: $0, advertisedPayload: 1232, into: output)
        }
        let slip = try Message.decode(Array(output[0..<length]))
        #expect(slip.header.id == 0xBEEF && slip.header.isResponse && slip.header.truncated)
        #expect(slip.header.recursionDesired && !slip.header.checkingDisabled && !slip.header.authoritative)
        #expect(slip.questions == query.questions)
        #expect(slip.answers.isEmpty && slip.authorities.isEmpty)
        #expect(slip.additionals.count == 1 && slip.additionals[0].type == .opt)
        #expect(Array(output[12..<(length - 11)]) == Array(bytes[12..<(bytes.count - 11)]), "0x20 case kept")
        // A message with QR set, or not a query, gets no slip.
        var response = bytes
        response[2] |= 0x80
        #expect(response.withUnsafeBytes { ResponseRateLimiter.writeSlip(query: $0, advertisedPayload: 1232, into: output) } == 0)
    }

    @Test func prefixesGroupIPv4By24AndIPv6By56() {
        let a = ResponseRateLimiter.prefix(of: SocketAddress(parsing: "192.0.2.1:53")!)
        let b = ResponseRateLimiter.prefix(of: SocketAddress(parsing: "192.0.2.200:9")!)
        let c = ResponseRateLimiter.prefix(of: SocketAddress(parsing: "192.0.3.1:53")!)
        let v6a = ResponseRateLimiter.prefix(of: SocketAddress(parsing: "[2001:db8:0:1::1]:53")!)
        let v6b = ResponseRateLimiter.prefix(of: SocketAddress(parsing: "[2001:db8:0:1::9]:53")!)
        #expect(a == b)
        #expect(a != c)
        #expect(v6a == v6b)
        #expect(v6a != ResponseRateLimiter.prefix(of: SocketAddress(parsing: "[2001:db8:0:100::7]:53")!))
    }

    @Test func aFloodFromOneSourceIsLimitedAndSlipsAreTruncated() throws {
        let beacon = try RunningBeacon { $0.responseRateLimit = 10 }
        let socket = try Sockets.udp(bind: SocketAddress(parsing: "127.0.0.1:0")!, receiveTimeoutMilliseconds: 300)
        var query = Message(header: Header(id: 1))
        query.questions = [Question(name: try DomainName("local."), type: .soa)]
        let bytes = try query.encode()
        for _ in 0..<60 {
            _ = bytes.withUnsafeBytes { try? Posix.send(socket.rawValue, from: $0, to: beacon.server.dnsAddress) }
        }
        var full = 0
        var truncated = 0
        var buffer = [UInt8](repeating: 0, count: 2048)
        while true {
            let received = buffer.withUnsafeMutableBytes { raw in
                catching { () throws(SystemCallError) in try Posix.receive(socket.rawValue, into: raw) }
            }
            guard case .success(.processed(let (count, _))) = received, count > 0 else { break }
            let reply = try Message.decode(Array(buffer[0..<count]))
            if reply.header.truncated { truncated += 1 } else { full += 1 }
        }
        // All 60 arrive within a second or two: at most 10 full answers per second, half the rest slipped.
        #expect(full >= 10 && full <= 20, "full answers: \(full)")
        #expect(truncated >= 15, "truncated slips: \(truncated)")
        #expect(full + truncated < 60)
    }

    /// `--rrl 10 --udp-threads 4`: one /24 sending from 64 ports (so over every socket) got 120 full
    /// answers in 2 s while each thread kept its own count.
    @Test func aSourceSpreadOverEveryUDPThreadGetsOneBudget() throws {
        let beacon = try RunningBeacon {
            $0.responseRateLimit = 10
            $0.udpThreads = 4
        }
        var query = Message(header: Header(id: 1))
        query.questions = [Question(name: try DomainName("local."), type: .soa)]
        let bytes = try query.encode()
        var sockets: [CInt] = []
        defer { for socket in sockets { Posix.close(socket) } }
        for _ in 0..<64 {
            sockets.append(try Sockets.udp(bind: SocketAddress(parsing: "127.0.0.1:0")!, receiveTimeoutMilliseconds: 10).take())
        }
        for socket in sockets {
            for _ in 0..<4 {
                _ = bytes.withUnsafeBytes { try? Posix.send(socket, from: $0, to: beacon.server.dnsAddress) }
            }
        }
        Posix.sleep(milliseconds: 300)  // every reply is in its socket's buffer by then
        var full = 0
        var truncated = 0
        var buffer = [UInt8](repeating: 0, count: 2048)
        for socket in sockets {
            while true {
                let received = buffer.withUnsafeMutableBytes { raw in
                    catching { () throws(SystemCallError) in try Posix.receive(socket, into: raw) }
                }
                guard case .success(.processed(let (count, _))) = received, count > 0 else { break }
                let reply = try Message.decode(Array(buffer[0..<count]))
                if reply.header.truncated { truncated += 1 } else { full += 1 }
            }
        }
        // 256 queries within a second or two: at most 10 full answers a second for the /24.
        #expect(full >= 10 && full <= 20, "full answers: \(full)")
        #expect(truncated >= 100, "truncated slips: \(truncated)")
    }
}
