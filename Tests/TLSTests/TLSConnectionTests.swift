import PosixIO
import TLS
import TestSupport
import Testing

@Suite("TLS connections in memory", .enabled(if: TLSFixtures.available))
struct TLSConnectionTests {
    @Test func aVerifiedHandshakeNegotiatesTLS13AndHTTP11() throws {
        let pair = try TLSPair(server: TLSServerContext(settings: .fixture()), client: .fixture())
        #expect(pair.handshake().established)
        #expect(pair.client.protocolVersion == "TLSv1.3")
        #expect(pair.server.negotiatedProtocol == "http/1.1")
        #expect(pair.client.negotiatedProtocol == "http/1.1")
        #expect(["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"].contains(pair.server.cipherName))
        #expect(pair.client.peerNames.contains("localhost"), "the server's CN, as the client verified it")
        #expect(pair.server.peerNames.isEmpty, "no client certificate was asked for")
    }

    @Test func plaintextCrossesBothWays() throws {
        let pair = try TLSPair(server: TLSServerContext(settings: .fixture()), client: .fixture())
        pair.handshake()
        #expect(pair.clientSends("GET /healthz HTTP/1.1\r\n\r\n").text == "GET /healthz HTTP/1.1\r\n\r\n")
        #expect(Array("HTTP/1.1 200 OK\r\n\r\n".utf8).withUnsafeBytes { pair.server.seal($0) })
        pair.deliver(from: pair.server, to: pair.client)
        var buffer = [UInt8](repeating: 0, count: 4096)
        let result = buffer.withUnsafeMutableBytes { pair.client.read(into: $0) }
        guard case .plaintext(let count) = result else {
            Issue.record("client read \(result)")
            return
        }
        #expect(String(decoding: buffer[0..<count], as: UTF8.self) == "HTTP/1.1 200 OK\r\n\r\n")
    }

    @Test func aNameIsCheckedAgainstTheCertificate() throws {
        let context = try TLSServerContext(settings: .fixture())
        #expect(try TLSPair(server: context, client: .fixture(), host: "localhost").handshake().established)
        let wrongAddress = try TLSPair(server: context, client: .fixture(), host: "10.9.9.9").handshake()
        #expect(Self.failure(wrongAddress.client)?.contains("IP address mismatch") == true, "\(wrongAddress.client)")
        let wrongName = try TLSPair(server: context, client: .fixture(), host: "beacon.example").handshake()
        #expect(Self.failure(wrongName.client)?.contains("hostname mismatch") == true, "\(wrongName.client)")
    }

    @Test func aServerSignedByAnotherCAIsRefused() throws {
        let outcome = try TLSPair(server: TLSServerContext(settings: .fixture(certificate: "server-other")), client: .fixture())
            .handshake()
        #expect(Self.failure(outcome.client)?.contains("certificate verify failed") == true, "\(outcome.client)")
    }

    @Test func anExpiredServerCertificateIsRefused() throws {
        let outcome = try TLSPair(server: TLSServerContext(settings: .fixture(certificate: "server-expired")), client: .fixture())
            .handshake()
        #expect(Self.failure(outcome.client)?.contains("certificate has expired") == true, "\(outcome.client)")
    }

    @Test func aClientCertificateIsRequiredWhenAClientCAIsSet() throws {
        let context = try TLSServerContext(settings: .fixture(clientCA: "ca"))
        #expect(context.requiresClientCertificate)
        let outcome = try TLSPair(server: context, client: .fixture()).handshake()
        #expect(Self.failure(outcome.server)?.contains("peer did not return a certificate") == true, "\(outcome.server)")
    }

    @Test func aVerifiedClientCertificateGivesItsCNAndSubjectAltNames() throws {
        let pair = try TLSPair(server: TLSServerContext(settings: .fixture(clientCA: "ca")), client: .fixture(certificate: "client"))
        #expect(pair.handshake().established)
        #expect(pair.clientSends("x").text == "x")
        #expect(pair.server.peerNames == ["orders-client", "orders.client.test", "spiffe://beacon.test/orders"])
    }

    @Test(arguments: [("client-expired", "certificate has expired"), ("client-other", "certificate verify failed")])
    func aClientCertificateThatDoesNotVerifyIsRefused(certificate: String, reason: String) throws {
        let pair = try TLSPair(server: TLSServerContext(settings: .fixture(clientCA: "ca")), client: .fixture(certificate: certificate))
        let outcome = pair.handshake()
        #expect(Self.failure(outcome.server)?.contains(reason) == true, "\(outcome.server)")
        #expect(pair.server.peerNames.isEmpty)
    }

    @Test func plainHTTPOnTheTLSPortFailsAtOnce() throws {
        let server = try TLSServerContext(settings: .fixture()).makeConnection()
        Array("GET /healthz HTTP/1.1\r\nHost: beacon\r\n\r\n".utf8).withUnsafeBytes { server.absorb($0) }
        var buffer = [UInt8](repeating: 0, count: 1024)
        let result = buffer.withUnsafeMutableBytes { server.read(into: $0) }
        #expect(Self.failure(result)?.contains("http request") == true, "\(result)")
        #expect(!server.seal(UnsafeRawBufferPointer(start: nil, count: 0)), "a failed connection seals nothing")
    }

    @Test func aCloseAlertEndsTheStreamCleanly() throws {
        let pair = try TLSPair(server: TLSServerContext(settings: .fixture()), client: .fixture())
        pair.handshake()
        pair.client.shutdown()
        pair.deliver(from: pair.client, to: pair.server)
        #expect(pair.readServer().result == .closed)
    }

    @Test func recordsLeftAfterARead() throws {
        let pair = try TLSPair(server: TLSServerContext(settings: .fixture()), client: .fixture())
        pair.handshake()
        _ = Array("first".utf8).withUnsafeBytes { pair.client.seal($0) }
        _ = Array("second".utf8).withUnsafeBytes { pair.client.seal($0) }
        pair.deliver(from: pair.client, to: pair.server)
        #expect(pair.readServer().text == "first")
        #expect(pair.server.hasBufferedInput, "the second record waits: a paused session resumes from it")
        #expect(pair.readServer().text == "second")
        #expect(!pair.server.hasBufferedInput)
    }

    static func failure(_ read: SecureRead) -> String? {
        if case .failed(let reason) = read { return reason }
        return nil
    }
}

@Suite("TLS server layer under hostile input", .enabled(if: TLSFixtures.available))
struct TLSHostileInputTests {
    /// Random bytes, and a real ClientHello with random bytes spliced in, fed in random slices: the
    /// layer ends in a failure or waits for more, never produces plaintext or crashes, and a failed
    /// layer stays failed.
    @Test func randomInputNeverYieldsPlaintext() throws {
        let context = try TLSServerContext(settings: .fixture())
        let clientHello: [UInt8] = try {
            let client = try TLSClientContext(settings: .fixture()).makeConnection(host: "127.0.0.1")
            _ = client.handshake()
            var bytes: [UInt8] = []
            client.takeOutput(into: &bytes)
            return bytes
        }()
        var random = SeededGenerator(seed: 18)
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        for round in 0..<300 {
            var input = round % 2 == 0
                ? (0..<random.next(below: 4096)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                : clientHello
            if round % 2 == 1 {
                for _ in 0..<random.next(below: 8) + 1 {
                    input[random.next(below: input.count)] = UInt8(truncatingIfNeeded: random.next())
                }
            }
            let server = try context.makeConnection()
            var offset = 0
            var failed = false
            while offset < input.count {
                let end = min(input.count, offset + random.next(below: 600) + 1)
                input[offset..<end].withUnsafeBytes { server.absorb($0) }
                offset = end
                let result = buffer.withUnsafeMutableBytes { server.read(into: $0) }
                var alert: [UInt8] = []
                server.takeOutput(into: &alert)
                switch result {
                case .plaintext: Issue.record("round \(round): plaintext from random input")
                case .failed: failed = true
                case .needsInput, .closed: break
                }
                if failed { break }
            }
            if failed {
                let again = buffer.withUnsafeMutableBytes { server.read(into: $0) }
                #expect(again == .failed("the connection has failed"), "round \(round)")
                #expect(!Array("x".utf8).withUnsafeBytes { server.seal($0) })
            }
        }
    }
}
