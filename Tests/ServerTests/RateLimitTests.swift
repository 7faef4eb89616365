import BeaconRuntime
import DNSServer
import DNSWire
import PosixIO
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
}
