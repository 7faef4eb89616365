import PosixIO
import TLS
import TestSupport
import Testing

@Suite("TLS contexts: files, errors, reload", .enabled(if: TLSFixtures.available))
struct TLSContextTests {
    /// A directory holding copies of fixture files, which a test may overwrite.
    final class Scratch {
        let path = "/tmp/beacon-tls-scratch-\(Posix.processID)-\(Posix.monotonicNanoseconds())"
        init() throws { try Files.makeDirectories(path) }
        deinit {
            for name in (try? Files.list(path)) ?? [] { try? Posix.unlink(path + "/" + name) }
            try? Posix.removeDirectory(path)
        }
        func copy(_ fixture: String, to name: String) throws {
            try Files.writeAtomically(path + "/" + name, try Files.read(TLSFixtures.path(fixture)))
        }
        func write(_ name: String, _ text: String) throws { try Files.writeAtomically(path + "/" + name, Array(text.utf8)) }
        var settings: TLSServerSettings {
            TLSServerSettings(certificate: TLSFile(path + "/cert.pem", flag: "--tls-cert"), key: TLSFile(path + "/key.pem", flag: "--tls-key"))
        }
    }

    @Test func reloadServesTheNewCertificateToNewConnectionsOnly() throws {
        let scratch = try Scratch()
        try scratch.copy("server.pem", to: "cert.pem")
        try scratch.copy("server.key", to: "key.pem")
        let context = try TLSServerContext(settings: scratch.settings)
        let before = try TLSPair(server: context, client: .fixture())
        #expect(before.handshake().established)

        try scratch.copy("server-other.pem", to: "cert.pem")
        try scratch.copy("server-other.key", to: "key.pem")
        try context.reload()
        #expect(try TLSPair(server: context, client: .fixture(ca: "other-ca")).handshake().established, "the new certificate")
        let oldTrust = try TLSPair(server: context, client: .fixture(ca: "ca")).handshake()
        #expect(!oldTrust.established, "the old certificate is no longer served")
        #expect(before.clientSends("still here").text == "still here", "an open connection keeps working")
    }

    @Test func aFailedReloadKeepsTheRunningCertificate() throws {
        let scratch = try Scratch()
        try scratch.copy("server.pem", to: "cert.pem")
        try scratch.copy("server.key", to: "key.pem")
        let context = try TLSServerContext(settings: scratch.settings)

        try scratch.write("key.pem", "-----BEGIN PRIVATE KEY-----\ntruncated\n")
        #expect(throws: TLSError.self) { try context.reload() }
        do {
            try context.reload()
        } catch {
            #expect(error.message.hasPrefix("--tls-key \(scratch.path)/key.pem: not a PEM private key"), "\(error)")
        }
        try scratch.copy("client.key", to: "key.pem")
        do {
            try context.reload()
            Issue.record("a key for another certificate was accepted")
        } catch {
            #expect(error.message.contains("does not match the certificate"), "\(error)")
        }
        try scratch.remove("cert.pem")
        do {
            try context.reload()
            Issue.record("a missing certificate was accepted")
        } catch {
            #expect(error.message.hasPrefix("--tls-cert \(scratch.path)/cert.pem: cannot read:"), "\(error)")
        }
        #expect(try TLSPair(server: context, client: .fixture()).handshake().established, "still serving the first certificate")
    }

    @Test func startUpErrorsNameTheFlagAndFile() throws {
        func message(_ settings: TLSServerSettings) -> String {
            do {
                _ = try TLSServerContext(settings: settings)
                return "started"
            } catch {
                return error.message
            }
        }
        let missing = TLSServerSettings(
            certificate: TLSFile("/nonexistent/cert.pem", flag: "--tls-cert"), key: .fixture("server.key", flag: "--tls-key"))
        #expect(message(missing).hasPrefix("--tls-cert /nonexistent/cert.pem: cannot read: "), "\(message(missing))")
        let keyAsCertificate = TLSServerSettings(
            certificate: .fixture("server.key", flag: "--tls-cert"), key: .fixture("server.key", flag: "--tls-key"))
        #expect(message(keyAsCertificate).hasPrefix("--tls-cert \(TLSFixtures.path("server.key")): not a PEM certificate chain"))
        var badCA = TLSServerSettings.fixture()
        badCA.clientCA = .fixture("server.key", flag: "--tls-client-ca")
        #expect(message(badCA).hasPrefix("--tls-client-ca \(TLSFixtures.path("server.key")): no PEM CA certificate"))
    }

    @Test func aClientCertificateNeedsItsKey() throws {
        let settings = TLSClientSettings(ca: .fixture("ca.pem", flag: "--ca"), certificate: .fixture("client.pem", flag: "--cert"))
        #expect(throws: TLSError("--cert needs a key as well")) { try TLSClientContext(settings: settings) }
    }

    @Test func theLibraryIsNamedWhenItCannotBeLoaded() {
        #expect(throws: DynamicLibraryError.self) { try DynamicLibrary(opening: "libbeacon-no-such-library.so.3") }
        #expect(DynamicLibrary.isMapped("libssl.so.3"), "loaded by the tests above, and visible in /proc/self/maps")
    }
}

extension TLSContextTests.Scratch {
    func remove(_ name: String) throws { try Posix.unlink(path + "/" + name) }
}
