import Primitives
import BeaconRuntime
import Clients
import DNSWire
import PosixIO
import Synchronization
import Testing

@Suite("Forwarding names outside the served zones (--upstream)", .serialized)
struct ForwardingTests {
    /// A second Beacon serving `example.test.` plays the upstream.
    static func upstreamZone() throws -> String {
        let directory = "/tmp/beacon-upstream-\(Posix.processID)"
        try Files.makeDirectories(directory)
        var text = "$ORIGIN example.test.\n$TTL 300\n@ SOA ns hostmaster 1 3600 600 86400 60\n@ NS ns\nns A 127.0.0.1\n"
        text += "www A 192.0.2.80\n"
        for index in 1...6 { text += "big TXT \"" + String(repeating: "x", count: 200) + "\(index)\"\n" }
        try Files.writeAtomically(directory + "/example.test.zone", Array(text.utf8))
        return directory
    }

    @Test func forwardedAnswersHaveRASetAAClearAndTheClientsIDAndCase() throws {
        let upstream = try RunningBeacon { $0.zonesDirectory = try! Self.upstreamZone(); $0.domain = try! DomainName("up.invalid.") }
        let beacon = try RunningBeacon { $0.upstreams = [upstream.server.dnsAddress] }
        var query = Message(header: Header(id: 0x4242, flags: 0x0100))
        query.questions = [Question(name: try DomainName("WwW.ExAmPlE.tEsT."), type: .a)]
        let reply = try beacon.dns.exchangeUDP(try query.encode(), id: 0x4242)
        #expect(reply.header.id == 0x4242)
        #expect(reply.header.recursionAvailable)
        #expect(!reply.header.authoritative)
        #expect(reply.questions.first?.name.isIdentical(to: try DomainName("WwW.ExAmPlE.tEsT.")) == true)
        #expect(reply.answerTexts == ["WwW.ExAmPlE.tEsT. A 192.0.2.80"])
        // Names Beacon serves are still answered by Beacon, authoritatively.
        let own = try beacon.query("local.", .soa)
        #expect(own.header.authoritative)
    }

    @Test func aTruncatedUpstreamAnswerIsFetchedOverTCP() throws {
        let upstream = try RunningBeacon { $0.zonesDirectory = try! Self.upstreamZone(); $0.domain = try! DomainName("up.invalid.") }
        let beacon = try RunningBeacon { $0.upstreams = [upstream.server.dnsAddress] }
        var query = Message(header: Header(id: 9))
        query.questions = [Question(name: try DomainName("big.example.test."), type: .txt)]
        // Without EDNS the client's limit is 512: Beacon fetches the whole answer over TCP and tells
        // this client to retry over TCP; over TCP it gets everything.
        let udp = try beacon.dns.exchangeUDP(try query.encode(), id: 9)
        #expect(udp.header.truncated)
        let tcp = try beacon.dns.exchangeTCP(try query.encode(), id: 9)
        #expect(tcp.answers.count == 6)
        #expect(tcp.header.recursionAvailable)
    }

    @Test func anUnreachableUpstreamGivesServfailQuickly() throws {
        // Nothing listens on this port: the ICMP refusal fails over at once.
        let beacon = try RunningBeacon { $0.upstreams = [SocketAddress(parsing: "127.0.0.1:9")!] }
        let started = Posix.monotonicNanoseconds()
        let reply = try beacon.query("www.example.test.", .a)
        let elapsed = Double(Posix.monotonicNanoseconds() - started) / 1e9
        #expect(reply.rcode == .servFail)
        #expect(elapsed < 1.0, "took \(elapsed) s")
    }

    @Test func aReplyWithTheWrongIDIsIgnoredAndTheRightOneAccepted() throws {
        let fake = try FakeUpstream()
        let beacon = try RunningBeacon { $0.upstreams = [fake.address] }
        let reply = try beacon.query("www.example.test.", .a)
        #expect(reply.rcode == .noError)
        #expect(reply.answerTexts == ["www.example.test. A 192.0.2.99"])
        #expect(fake.spoofedRepliesSent.load(ordering: .relaxed) == 1)
        #expect(fake.distinctIDs.withLock { $0.count } >= 1)
    }

    @Test func withoutUpstreamsOutsideNamesAreRefused() throws {
        let beacon = try RunningBeacon()
        #expect(try beacon.query("www.example.test.", .a).rcode == .refused)
    }
}

/// Answers each query twice: first with a wrong ID (which must be ignored), then correctly.
final class FakeUpstream: Sendable {
    let address: SocketAddress
    let spoofedRepliesSent = Atomic<Int>(0)
    let distinctIDs = Locked<Set<UInt16>>([])
    private let socket: CInt
    private let stopping = Atomic<Bool>(false)
    private let thread = Locked<ThreadHandle?>(nil)

    init() throws {
        let descriptor = try Sockets.udp(bind: SocketAddress(parsing: "127.0.0.1:0")!, receiveTimeoutMilliseconds: 100)
        address = try Posix.localAddress(descriptor.rawValue)
        socket = descriptor.take()
        let handle = Threads.start(name: "fake-upstream") { [self] in serve() }
        thread.withLock { $0 = handle }
    }

    deinit {
        stopping.store(true, ordering: .relaxed)
        thread.withLock { $0 }?.join()
        Posix.close(socket)
    }

    private func serve() {
        var buffer = [UInt8](repeating: 0, count: 2048)
        while !stopping.load(ordering: .relaxed) {
            let received = buffer.withUnsafeMutableBytes { raw in
                catching { () throws(SystemCallError) in try Posix.receive(socket, into: raw) }
            }
            guard case .success(.processed(let (count, sender?))) = received,
                var query = try? Message.decode(Array(buffer[0..<count]))
            else { continue }
            distinctIDs.withLock { _ = $0.insert(query.header.id) }
            query.header.isResponse = true
            query.header.recursionAvailable = true
            query.answers = [
                ResourceRecord(name: query.questions[0].name, type: .a, ttl: 60, rdata: .a(IPv4Address(192, 0, 2, 99)))
            ]
            var spoof = query
            spoof.header.id &+= 1
            spoof.answers = [
                ResourceRecord(name: query.questions[0].name, type: .a, ttl: 60, rdata: .a(IPv4Address(6, 6, 6, 6)))
            ]
            for message in [spoof, query] {
                guard let bytes = try? message.encode() else { continue }
                _ = bytes.withUnsafeBytes { try? Posix.send(socket, from: $0, to: sender) }
                // Counted before the right reply goes out, so a client that has its answer sees the count.
                if message.header.id == spoof.header.id { spoofedRepliesSent.add(1, ordering: .relaxed) }
            }
        }
    }
}
