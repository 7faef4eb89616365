import BeaconRuntime
import PosixIO
import Testing

/// `beacon serve` as a user runs it: the built binary as a child process.
@Suite("beacon serve on the command line", .serialized)
struct ServeCommandTests {
    static let binary = RunningBeacon.repositoryRoot + "/.build/debug/beacon"

    /// Runs a shell command line with a time limit; returns its exit status and standard error.
    static func run(_ arguments: String, environment: String = "", seconds: Int = 10) throws -> (
        status: Int32, stderr: String
    ) {
        let errorFile = "/tmp/beacon-cli-\(Posix.processID)-\(Posix.monotonicNanoseconds()).err"
        let pid = try ChildProcess.spawn([
            "/bin/sh", "-c", "\(environment) exec \(binary) \(arguments) 2>\(errorFile) >/dev/null",
        ])
        let deadline = Posix.monotonicNanoseconds() + Int64(seconds) * 1_000_000_000
        var termination: ChildProcess.Termination? = nil
        while termination == nil, Posix.monotonicNanoseconds() < deadline {
            termination = ChildProcess.poll(pid)
            if termination == nil { Posix.sleep(milliseconds: 20) }
        }
        if termination == nil {
            try? Signals.send(Signals.kill, to: pid)
            termination = ChildProcess.wait(pid)
        }
        let text = String(decoding: (try? Files.read(errorFile)) ?? [], as: UTF8.self)
        try? Posix.unlink(errorFile)
        return (termination!.shellStatus, text)
    }

    @Test func anUnknownFlagExits64NamingIt() throws {
        let (status, stderr) = try Self.run("serve --bogus 1")
        #expect(status == 64)
        #expect(stderr.contains("--bogus"))
    }

    @Test(arguments: [
        ("--dns nonsense", "--dns"), ("--http 1.2.3.4", "--http"), ("--max-ttl -1", "--max-ttl"),
        ("--domain ..", "--domain"), ("--upstream 127.0.0.1", "--upstream"), ("--store http://x", "--store"),
        ("--udp-max-payload 511", "--udp-max-payload"), ("--udp-max-payload 65536", "--udp-max-payload"),
        ("--udp-max-payload 1232.5", "--udp-max-payload"),
    ])
    func aBadFlagValueExits64NamingTheFlag(arguments: String, flag: String) throws {
        let (status, stderr) = try Self.run("serve \(arguments)")
        #expect(status == 64)
        #expect(stderr.hasPrefix("beacon: \(flag)"), "\(stderr)")
    }

    @Test func anEnvironmentVariableIsNamedWhenItIsWrong() throws {
        let (status, stderr) = try Self.run("serve", environment: "BEACON_DNS=bad")
        #expect(status == 64)
        #expect(stderr.contains("$BEACON_DNS"), "\(stderr)")
        let (payloadStatus, payloadError) = try Self.run("serve", environment: "BEACON_UDP_MAX_PAYLOAD=100")
        #expect(payloadStatus == 64)
        #expect(payloadError.contains("$BEACON_UDP_MAX_PAYLOAD"), "\(payloadError)")
        #expect(payloadError.contains("512-65535"), "\(payloadError)")
    }

    @Test func aPortInUseExits1NamingTheAddress() throws {
        let beacon = try RunningBeacon()
        let (status, stderr) = try Self.run("serve --in-memory --dns \(beacon.server.dnsAddress) --http 127.0.0.1:0")
        #expect(status == 1)
        #expect(stderr.contains("--dns \(beacon.server.dnsAddress)"), "\(stderr)")
        #expect(stderr.split(separator: "\n").count == 1, "one line: \(stderr)")
    }

    @Test func aBadZoneFileExits1NamingFileLineAndColumn() throws {
        let directory = "/tmp/beacon-badzone-\(Posix.processID)"
        try Files.makeDirectories(directory)
        try Files.writeAtomically(
            directory + "/bad.test.zone",
            Array("$ORIGIN bad.test.\n$TTL 60\n@ SOA ns hm 1 2 3 4 5\nwww A 300.1.1.1\n".utf8))
        let (status, stderr) = try Self.run("serve --in-memory --dns 127.0.0.1:0 --http 127.0.0.1:0 --zones \(directory)")
        #expect(status == 1)
        #expect(stderr.contains("bad.test.zone:4:"), "\(stderr)")
    }

    @Test func sigtermStopsItCleanlyWithStatus0() throws {
        let errorFile = "/tmp/beacon-sigterm-\(Posix.processID).err"
        let pid = try ChildProcess.spawn([
            "/bin/sh", "-c", "exec \(Self.binary) serve --in-memory --dns 127.0.0.1:0 --http 127.0.0.1:0 2>\(errorFile)",
        ])
        var started = false
        for _ in 0..<100 where !started {
            Posix.sleep(milliseconds: 50)
            started = String(decoding: (try? Files.read(errorFile)) ?? [], as: UTF8.self).contains("http listening")
        }
        #expect(started)
        try Signals.send(Signals.terminate, to: pid)
        let termination = ChildProcess.wait(pid)
        #expect(termination == .exited(0))
        let log = String(decoding: (try? Files.read(errorFile)) ?? [], as: UTF8.self)
        #expect(log.contains("stopped"))
        try? Posix.unlink(errorFile)
    }

    @Test func helpTellsTheFlags() throws {
        let (status, _) = try Self.run("serve --help")
        #expect(status == 0)
    }
}
