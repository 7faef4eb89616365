import BeaconRuntime
import Clients
import DNSWire
import HTTPWire
import PosixIO
import Testing

/// `beacon sidecar` as a process around a real child, against a Beacon on ephemeral ports.
///
/// Short TTLs (3 s) keep the suite quick; every wait is bounded, and every process (the sidecar, and
/// its child, whose pid the sidecar logs) is killed by pid when a test ends.
@Suite("End to end: beacon sidecar", .serialized)
struct SidecarTests {
    typealias H = ProcessHarness

    /// A sidecar around `health_server.py` on a free port, with `/health` failing while `sick` exists.
    struct Service {
        let directory: TemporaryDirectory
        let port: UInt16
        let sidecar: Spawned
        let name: String

        init(
            server: String, service: String = "web", function: String = "get", ttl: Int = 3, drainMax: Int = 10,
            termExit: Int = 0, extra: [String] = []
        ) throws {
            directory = try TemporaryDirectory()
            port = try H.freePort()
            name = "\(function).\(service).local."
            let child = [
                "python3", H.fixtures + "/health_server.py", "--port", "\(port)", "--unhealthy-if",
                directory.path + "/sick", "--events", directory.path + "/events", "--term-exit", "\(termExit)",
            ]
            sidecar = try Spawned(
                [
                    H.beacon, "sidecar", "--server", server, "--service", service, "--function", function,
                    "--address", "127.0.0.1", "--port", "\(port)", "--ttl", "\(ttl)", "--interval", "1",
                    "--drain-max", "\(drainMax)", "--check", "http://127.0.0.1:\(port)/health",
                ] + extra + ["--"] + child, in: directory, label: "sidecar")
        }

        /// Kills the child by the pid the sidecar logged, then the sidecar (both only if still running).
        func tearDown() {
            if sidecar.termination == nil, let child = H.childPID(inLog: sidecar.stderr) {
                try? Signals.send(Signals.kill, to: child)
            }
            sidecar.kill()
        }

        func healthStatus() -> Int? {
            var client = HTTPClient(
                endpoint: HTTPEndpoint(address: SocketAddress(parsing: "127.0.0.1:\(port)")!),
                timeoutMilliseconds: 1_000)
            return try? client.send("GET", "/health").status
        }
    }

    @Test func theNameResolvesWhileTheChildRunsAndSigtermStopsBoth() throws {
        let beacon = try RunningBeacon()
        let service = try Service(server: "http://\(beacon.server.httpAddress)")
        defer { service.tearDown() }
        #expect(
            H.eventually(seconds: 10) { H.addresses(service.name, dns: beacon.server.dnsAddress) == ["127.0.0.1"] },
            "never resolved; sidecar log:\n\(service.sidecar.stderr)")
        // It stays resolvable across several TTLs: the heartbeats work.
        Posix.sleep(milliseconds: 4_000)
        #expect(H.addresses(service.name, dns: beacon.server.dnsAddress) == ["127.0.0.1"])
        service.sidecar.signal(Signals.terminate)
        #expect(service.sidecar.wait(seconds: 15) == .exited(0), "\(service.sidecar.stderr)")
        #expect(H.addresses(service.name, dns: beacon.server.dnsAddress).isEmpty)
        #expect(service.directory.read("events").hasPrefix("SIGTERM"))
    }

    @Test func aFailingCheckTakesTheInstanceOutWithinOneTTLAndBackWhenHealthy() throws {
        let beacon = try RunningBeacon()
        let service = try Service(server: "http://\(beacon.server.httpAddress)", ttl: 3)
        defer { service.tearDown() }
        let dns = beacon.server.dnsAddress
        #expect(H.eventually(seconds: 10) { !H.addresses(service.name, dns: dns).isEmpty })
        let failedAt = Posix.monotonicNanoseconds()
        try service.directory.write("sick", "")
        #expect(H.eventually(seconds: 5) { H.addresses(service.name, dns: dns).isEmpty }, "\(service.sidecar.stderr)")
        let gone = Double(Posix.monotonicNanoseconds() - failedAt) / 1e9
        #expect(gone <= 3.5, "left DNS \(gone) s after the check started failing (TTL 3 s)")
        // Withheld heartbeats, not a deregistration; the child kept running.
        #expect(service.sidecar.stderr.contains("withholding heartbeats"))
        #expect(!service.sidecar.stderr.contains("deregistered"))
        #expect(service.healthStatus() == 503)
        service.directory.remove("sick")
        #expect(
            H.eventually(seconds: 5) { H.addresses(service.name, dns: dns) == ["127.0.0.1"] },
            "\(service.sidecar.stderr)")
        #expect(service.sidecar.termination == nil)
    }

    @Test func sigtermDeregistersWaitsTheDrainAndOnlyThenStopsTheChild() throws {
        let beacon = try RunningBeacon()
        let service = try Service(server: "http://\(beacon.server.httpAddress)", ttl: 4, termExit: 7)
        defer { service.tearDown() }
        let dns = beacon.server.dnsAddress
        // A resolved answer is what makes the drain non-zero: it may sit in a cache for its TTL.
        #expect(H.eventually(seconds: 10) { !H.addresses(service.name, dns: dns).isEmpty })
        let signalledAt = Posix.wallClockSeconds()
        service.sidecar.signal(Signals.terminate)
        #expect(H.eventually(seconds: 3) { H.addresses(service.name, dns: dns).isEmpty })
        let goneAt = Posix.wallClockSeconds()
        // Out of DNS, and still serving: the drain.
        #expect(service.healthStatus() == 200)
        #expect(service.sidecar.wait(seconds: 15) == .exited(7), "the sidecar exits with the child's status")
        let log = service.sidecar.stderr
        let drain = try #require(H.loggedDrain(log), "\(log)")
        let deregisteredAt = try #require(H.loggedTime(log, containing: "deregistered"))
        let events = service.directory.read("events")
        let childSignalledAt = try #require(
            Double(events.split(separator: " ").last?.split(separator: "\n").first ?? ""))
        #expect(drain > 0.5 && drain <= 4, "drain \(drain)")
        #expect(deregisteredAt < childSignalledAt)
        #expect(goneAt < childSignalledAt, "the child got SIGTERM while the name still resolved")
        #expect(childSignalledAt - deregisteredAt >= drain - 0.05, "the child got SIGTERM before the drain ended")
        #expect(childSignalledAt - signalledAt < drain + 2)
    }

    @Test func aBeaconRestartWithoutDataIsHealedByRegisteringAgain() throws {
        let directory = try TemporaryDirectory()
        let httpPort = try H.freePort()
        let dnsPort = try H.freePort()
        let dns = SocketAddress(parsing: "127.0.0.1:\(dnsPort)")!
        let serve = [
            H.beacon, "serve", "--in-memory", "--http", "127.0.0.1:\(httpPort)", "--dns", "127.0.0.1:\(dnsPort)",
            "--zones", RunningBeacon.repositoryRoot + "/zones",
        ]
        var beacon = try Spawned(serve, in: directory, label: "beacon1")
        defer { beacon.kill() }
        let service = try Service(server: "http://127.0.0.1:\(httpPort)")
        defer { service.tearDown() }
        #expect(H.eventually(seconds: 10) { !H.addresses(service.name, dns: dns).isEmpty }, "\(service.sidecar.stderr)")
        beacon.signal(Signals.terminate)
        #expect(beacon.wait(seconds: 5) == .exited(0))
        Posix.sleep(milliseconds: 1_500)
        beacon = try Spawned(serve, in: directory, label: "beacon2")
        // The new Beacon starts empty; the sidecar's heartbeat gets a 404 and it registers again.
        #expect(
            H.eventually(seconds: 10) { H.addresses(service.name, dns: dns) == ["127.0.0.1"] },
            "\(service.sidecar.stderr)")
        let log = service.sidecar.stderr
        #expect(log.contains("server unreachable"))
        #expect(log.contains("registering again"))
        #expect(service.sidecar.termination == nil, "the child kept running through the outage")
    }

    @Test func theSidecarExitsWithTheChildsStatusAndDeregistersAtOnce() throws {
        let beacon = try RunningBeacon()
        let directory = try TemporaryDirectory()
        let server = "http://\(beacon.server.httpAddress)"
        let sidecar = try Spawned(
            [
                H.beacon, "sidecar", "--server", server, "--service", "job", "--function", "run", "--address",
                "10.0.0.9", "--port", "9", "--ttl", "60", "--", "sh", "-c", "sleep 1.5; exit 3",
            ], in: directory, label: "sidecar")
        defer { sidecar.kill() }
        let dns = beacon.server.dnsAddress
        #expect(H.eventually(seconds: 5) { H.addresses("run.job.local.", dns: dns) == ["10.0.0.9"] })
        #expect(sidecar.wait(seconds: 10) == .exited(3), "\(sidecar.stderr)")
        // Deregistered, not left to its 60 s lease.
        #expect(H.addresses("run.job.local.", dns: dns).isEmpty)
        #expect(sidecar.stderr.contains("child exited with status 3"))
    }

    @Test func aChildKilledBySignalNGivesStatus128PlusN() throws {
        let beacon = try RunningBeacon()
        let directory = try TemporaryDirectory()
        let sidecar = try Spawned(
            [
                H.beacon, "sidecar", "--server", "http://\(beacon.server.httpAddress)", "--service", "job",
                "--function", "run", "--address", "10.0.0.9", "--port", "9", "--", "sh", "-c", "kill -KILL $$",
            ], in: directory, label: "sidecar")
        defer { sidecar.kill() }
        #expect(sidecar.wait(seconds: 10) == .exited(137), "\(sidecar.stderr)")
    }

    @Test func aCommandThatCannotStartExits127AndBadFlagsExit64() throws {
        let directory = try TemporaryDirectory()
        let missing = try Spawned(
            [H.beacon, "sidecar", "--service", "s", "--function", "f", "--port", "1", "--", "/nonexistent/cmd"],
            in: directory, label: "missing")
        defer { missing.kill() }
        #expect(missing.wait(seconds: 10) == .exited(127))
        #expect(missing.stderr.contains("cannot start /nonexistent/cmd"))
        for (label, flags) in [
            ("noport", ["--service", "s", "--function", "f"]),
            ("badlabel", ["--service", "S_1", "--function", "f", "--port", "1"]),
            ("badcheck", ["--service", "s", "--function", "f", "--port", "1", "--check", "ftp://x"]),
            ("badinterval", ["--service", "s", "--function", "f", "--port", "1", "--interval", "0"]),
            ("unknown", ["--service", "s", "--function", "f", "--port", "1", "--bogus"]),
        ] {
            let run = try Spawned([H.beacon, "sidecar"] + flags + ["--", "true"], in: directory, label: label)
            defer { run.kill() }
            #expect(run.wait(seconds: 10) == .exited(64), "\(label): \(run.stderr)")
            #expect(run.stderr.hasPrefix("beacon: "), "\(label): \(run.stderr)")
        }
    }
}
