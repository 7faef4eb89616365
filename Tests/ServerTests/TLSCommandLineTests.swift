import BeaconCLI
import BeaconRuntime
import PosixIO
import TLS
import TestSupport
import Testing

/// The TLS flags as users give them: `serve --tls-*` and `--etcd-*`, and `--ca`/`--cert`/`--key` on
/// the client commands; and the promise that nothing loads libssl unless a TLS flag asks for it.
@Suite("TLS on the command line", .serialized, .enabled(if: TLSFixtures.available))
struct TLSCommandLineTests {
    static func fixture(_ name: String) -> String { TLSFixtures.path(name) }

    @Test(arguments: [
        ("--tls-cert \(fixture("server.pem"))", "--tls-cert needs --tls-key"),
        ("--tls-key \(fixture("server.key"))", "--tls-key needs --tls-cert"),
        ("--tls-client-ca \(fixture("ca.pem"))", "--tls-client-ca needs --tls-cert and --tls-key"),
        ("--etcd-ca \(fixture("ca.pem"))", "--etcd-ca needs --store etcds://"),
        ("--store etcd://127.0.0.1:2379 --etcd-ca \(fixture("ca.pem"))", "--etcd-ca needs --store etcds://"),
        ("--store etcds://127.0.0.1:2379 --etcd-cert \(fixture("client.pem"))", "--etcd-cert needs --etcd-key"),
    ])
    func inconsistentTLSFlagsExit64NamingTheFlag(arguments: String, message: String) throws {
        let (status, stderr) = try ServeCommandTests.run("serve --in-memory \(arguments)")
        #expect(status == 64)
        #expect(stderr.hasPrefix("beacon: \(message)"), "\(stderr)")
    }

    @Test func anUnreadableCertificateExits1WithOneLineNamingTheFlagAndFile() throws {
        let ports = "--dns 127.0.0.1:0 --http 127.0.0.1:0"
        let (status, stderr) = try ServeCommandTests.run(
            "serve --in-memory \(ports) --tls-cert /nonexistent/cert.pem --tls-key \(Self.fixture("server.key"))")
        #expect(status == 1)
        #expect(stderr == "beacon: --tls-cert /nonexistent/cert.pem: cannot read: No such file or directory\n", "\(stderr)")
        let (keyStatus, keyError) = try ServeCommandTests.run(
            "serve --in-memory --dns 127.0.0.1:0 --http 127.0.0.1:0",
            environment: "BEACON_TLS_CERT=\(Self.fixture("server.pem")) BEACON_TLS_KEY=\(Self.fixture("client.key"))")
        #expect(keyStatus == 1)
        let mismatch = "beacon: $BEACON_TLS_KEY \(Self.fixture("client.key")): does not match the certificate"
        #expect(keyError.hasPrefix(mismatch), "\(keyError)")
        #expect(keyError.split(separator: "\n").count == 1)
    }

    @Test func withoutLibsslATLSFlagExits1SayingSo() throws {
        let flags = "--tls-cert \(Self.fixture("server.pem")) --tls-key \(Self.fixture("server.key"))"
        let (status, stderr) = try ServeCommandTests.run(
            "serve --in-memory --dns 127.0.0.1:0 --http 127.0.0.1:0 \(flags)", environment: "BEACON_LIBSSL=libssl-absent.so.3")
        #expect(status == 1)
        #expect(stderr.hasPrefix("beacon: --tls-cert: TLS needs OpenSSL 3 (libssl-absent.so.3), which cannot be loaded"), "\(stderr)")
        #expect(stderr.split(separator: "\n").count == 1, "one line: \(stderr)")
        let client = try ServeCommandTests.run("ls --server https://127.0.0.1:1", environment: "BEACON_LIBSSL=libssl-absent.so.3")
        #expect(client.status == 1)
        #expect(client.stderr.contains("TLS needs OpenSSL 3"), "\(client.stderr)")
    }

    /// Reads `/proc/PID/maps` of a running `beacon serve`: libssl is there only with a TLS flag.
    @Test func aPlainServerNeverLoadsLibssl() throws {
        func mapsLibssl(_ flags: [String]) throws -> Bool {
            let directory = try TemporaryDirectory()
            let server = try Spawned(
                [ProcessHarness.beacon, "serve", "--in-memory", "--dns", "127.0.0.1:0", "--http", "127.0.0.1:0"] + flags,
                in: directory, label: "serve")
            defer { server.kill() }
            #expect(ProcessHarness.eventually(seconds: 10) { server.stderr.contains("http listening") }, "\(server.stderr)")
            return DynamicLibrary.isMapped("libssl", processID: server.pid)
        }
        #expect(try !mapsLibssl([]), "plain HTTP")
        #expect(try mapsLibssl(["--tls-cert", Self.fixture("server.pem"), "--tls-key", Self.fixture("server.key")]), "HTTPS")
    }

    @Test func clientCommandsTalkHTTPSWithCAAndClientCertificate() throws {
        let beacon = try HTTPSTests.beacon(clientCA: true)
        let server = ["--server", "https://\(beacon.server.httpAddress)"]
        let identity = ["--ca", Self.fixture("ca.pem"), "--cert", Self.fixture("client.pem"), "--key", Self.fixture("client.key")]
        let instance = ["--service", "orders", "--function", "create", "--address", "10.0.0.5", "--port", "8080", "--id", "web-1"]
        let register = runBeacon(["register"] + instance + server + identity)
        #expect(register.status == 0, "\(register.err)")
        #expect(runBeacon(["heartbeat", "web-1"] + server + identity).status == 0)
        let listing = runBeacon(["ls"] + server, environment: [
            "BEACON_CA": Self.fixture("ca.pem"), "BEACON_CERT": Self.fixture("client.pem"), "BEACON_KEY": Self.fixture("client.key"),
        ])
        #expect(listing.status == 0 && listing.out.contains("web-1"), "\(listing.err)")

        let noCertificate = runBeacon(["ls"] + server + ["--ca", Self.fixture("ca.pem")])
        #expect(noCertificate.status == 1, "the server requires a client certificate")
        let wrongCA = runBeacon(["ls"] + server + ["--ca", Self.fixture("other-ca.pem")])
        #expect(wrongCA.status == 1 && wrongCA.err.contains("certificate verify failed"), "\(wrongCA.err)")
        let missingCA = runBeacon(["ls"] + server + ["--ca", "/nonexistent/ca.pem"])
        #expect(missingCA.status == 1 && missingCA.err.hasPrefix("beacon: --ca /nonexistent/ca.pem: cannot read:"), "\(missingCA.err)")
        let plainServer = runBeacon(["ls", "--server", "http://127.0.0.1:1", "--ca", Self.fixture("ca.pem")])
        #expect(plainServer.status == 64 && plainServer.err.contains("--ca needs an https:// --server"), "\(plainServer.err)")
        let halfIdentity = runBeacon(["ls"] + server + ["--cert", Self.fixture("client.pem")])
        #expect(halfIdentity.status == 64 && halfIdentity.err.contains("--cert needs --key"), "\(halfIdentity.err)")
    }

    @Test func etcdsEndpointsKeepTheirHostNamesForVerification() throws {
        let arguments = try ParsedArguments.parse(
            ["--store", "etcds://localhost:2379,127.0.0.2:2380,[::1]:2381", "--etcd-ca", "ca.pem"], specs: ServeCommand.specs,
            environment: [:])
        var config = ServeConfig()
        try ServeCommand.parseStore(arguments, into: &config)
        #expect(config.etcdHosts == ["localhost", "127.0.0.2", "::1"])
        #expect(config.etcdEndpoints.map(\.description) == ["127.0.0.1:2379", "127.0.0.2:2380", "[::1]:2381"])
        #expect(config.etcdTLS == TLSClientSettings(ca: TLSFile("ca.pem", flag: "--etcd-ca")))
    }
}
