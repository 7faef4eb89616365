import CGlue
import Glibc
import PosixIO
import Primitives
import Testing

@Suite("PosixIO: the syscall layer")
struct PosixIOTests {
    @Test(arguments: [
        ("127.0.0.1:53", "127.0.0.1:53"), ("[::1]:8053", "[::1]:8053"), ("localhost:80", "127.0.0.1:80"),
        ("[2001:db8::1]:65535", "[2001:db8::1]:65535"),
    ])
    func socketAddressesParseAndPrint(text: String, printed: String) throws {
        let address = try #require(SocketAddress(parsing: text))
        #expect(address.description == printed)
    }

    /// The host is the one `IPAddress` type; the bytes a socket call sees are still network order.
    @Test(arguments: ["10.1.2.3:53", "[2001:db8::1:2]:8053", "[::ffff:192.0.2.1]:1", "[::]:0", "0.0.0.0:9"])
    func socketAddressesSurviveTheTripThroughSockaddr(text: String) throws {
        let address = try #require(SocketAddress(parsing: text))
        var storage = sockaddr_storage()
        let length = address.store(into: &storage)
        #expect(Int(length) == (address.family == AF_INET ? MemoryLayout<sockaddr_in>.size : MemoryLayout<sockaddr_in6>.size))
        #expect(SocketAddress(storage: storage) == address)
        #expect(address.isUnspecified == (text == "[::]:0" || text == "0.0.0.0:9"))
        if case .v4(let host, _) = address {
            let bytes = withUnsafeBytes(of: &storage) { Array($0[4..<8]) }
            #expect(bytes == host.octets, "sin_addr in network order")
        }
    }

    @Test(arguments: ["127.0.0.1", "127.0.0.1:", "1.2.3:53", "::1:53", "[::1]53", "127.0.0.1:65536", "host:53", "",
        "01.2.3.4:53", "[1::2::3]:53", "[12345::1]:53", "256.0.0.1:53"])
    func badSocketAddressesAreRejected(text: String) {
        #expect(SocketAddress(parsing: text) == nil)
    }

    @Test func aFailedCallIsATypedErrorNamingTheCall() {
        do throws(SystemCallError) {
            _ = try Posix.open("/nonexistent/beacon-\(Posix.processID)", flags: O_RDONLY)
            Issue.record("open succeeded")
        } catch {
            #expect(error.errno == .noSuchFile)
            #expect(error.call.hasPrefix("open"))
        }
    }

    /// ASan found `Files.list` copying the whole 256-byte `d_name` out of glibc's shorter dirent
    /// records (a heap read past the end); names must come back whole and nothing more.
    @Test func listingADirectoryGivesEveryNameSorted() throws {
        let directory = "/tmp/beacon-posixio-\(Posix.processID)"
        try Files.makeDirectories(directory)
        let names = ["a", "zone.zone", String(repeating: "x", count: 200), "b.txt"]
        for name in names { try Files.writeAtomically(directory + "/" + name, Array(name.utf8)) }
        #expect(try Files.list(directory) == names.sorted())
        for name in names { #expect(try Files.read(directory + "/" + name) == Array(name.utf8)) }
        for name in names { try Posix.unlink(directory + "/" + name) }
    }

    @Test func aFileDescriptorClosesWhenItGoesAway() throws {
        var raw: CInt = -1
        do {
            let descriptor = FileDescriptor(taking: try Posix.open("/dev/null", flags: O_RDONLY))
            raw = descriptor.rawValue
            #expect(fcntl(raw, F_GETFD) != -1)
        }
        #expect(fcntl(raw, F_GETFD) == -1)
        #expect(errno == EBADF)
    }

    @Test func udpDatagramsGoBothWaysOnLoopback() throws {
        let server = try Sockets.udp(bind: SocketAddress(parsing: "127.0.0.1:0")!, receiveTimeoutMilliseconds: 1_000)
        let address = try Posix.localAddress(server.rawValue)
        #expect(address.port != 0)
        let client = try Sockets.udp(bind: SocketAddress(parsing: "127.0.0.1:0")!, receiveTimeoutMilliseconds: 1_000)
        _ = try Array("ping".utf8).withUnsafeBytes { raw in
            catching { () throws(SystemCallError) in try Posix.send(client.rawValue, from: raw, to: address) }
        }.get()
        let batch = UDPBatch(capacity: 4)
        #expect(try batch.receive(on: server.rawValue) == 1)
        #expect(Array(try #require(batch.datagram(0))) == Array("ping".utf8))
        Array("pong".utf8).withUnsafeBytes { batch.queueReply(to: 0, $0) }
        batch.sendPending(on: server.rawValue)
        var buffer = [UInt8](repeating: 0, count: 16)
        let received = buffer.withUnsafeMutableBytes { raw in
            catching { () throws(SystemCallError) in try Posix.receive(client.rawValue, into: raw) }
        }
        guard case .success(.processed(let (count, _))) = received else {
            Issue.record("no reply: \(received)")
            return
        }
        #expect(Array(buffer[0..<count]) == Array("pong".utf8))
    }

    @Test func anEventLoopRunsTasksFromOtherThreadsAndTimersInDeadlineOrder() throws {
        let loop = try EventLoop()
        let log = Locked<[String]>([])
        let thread = Threads.start(name: "loop") { loop.run() }
        loop.execute {
            loop.schedule(afterMilliseconds: 60) { log.withLock { $0.append("late") } }
            loop.schedule(afterMilliseconds: 10) { log.withLock { $0.append("early") } }
            let cancelled = loop.schedule(afterMilliseconds: 30) { log.withLock { $0.append("cancelled") } }
            loop.cancel(cancelled)
        }
        Threads.start(name: "poster") { loop.execute { log.withLock { $0.append("task") } } }.join()
        // Wait for the last timer (60 ms) to fire, by which time the cancelled one (30 ms) would have.
        for _ in 0..<2_000 where log.withLock({ $0.count }) < 3 { Posix.sleep(milliseconds: 1) }
        loop.stop()
        thread.join()
        #expect(log.withLock { $0 } == ["task", "early", "late"])
    }
}
