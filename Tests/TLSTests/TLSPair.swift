import PosixIO
import TLS
import TestSupport

/// A client and a server connection wired back to back in memory: handshakes and records without a
/// socket, so the wrapper is tested without the network.
struct TLSPair {
    let client: TLSConnection
    let server: TLSConnection

    init(server context: TLSServerContext, client settings: TLSClientSettings, host: String = "127.0.0.1") throws {
        server = try context.makeConnection()
        client = try TLSClientContext(settings: settings).makeConnection(host: host)
    }

    /// What the handshake came to on each side.
    struct Outcome {
        var client: SecureRead
        var server: SecureRead
        var established: Bool { if case .plaintext = client, case .needsInput = server { true } else { false } }
    }

    /// Runs the handshake to its end, moving bytes both ways, and then lets the server read once more
    /// (a TLS 1.3 server learns that the client's certificate failed only from its last flight).
    @discardableResult
    func handshake() -> Outcome {
        var outcome = Outcome(client: .needsInput, server: .needsInput)
        for _ in 0..<10 {
            outcome.client = client.handshake()
            deliver(from: client, to: server)
            outcome.server = readServer().result
            deliver(from: server, to: client)
            if case .failed = outcome.client { break }
            if case .failed = outcome.server { break }
            if client.isEstablished, server.isEstablished { break }
        }
        return outcome
    }

    /// Sends `text` from the client and returns what the server read.
    func clientSends(_ text: String) -> (result: SecureRead, text: String) {
        _ = Array(text.utf8).withUnsafeBytes { client.seal($0) }
        deliver(from: client, to: server)
        return readServer()
    }

    /// Reads on the server: the outcome, and the plaintext read.
    func readServer() -> (result: SecureRead, text: String) {
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        let result = buffer.withUnsafeMutableBytes { server.read(into: $0) }
        guard case .plaintext(let count) = result else { return (result, "") }
        return (result, String(decoding: buffer[0..<count], as: UTF8.self))
    }

    func deliver(from sender: TLSConnection, to receiver: TLSConnection) {
        var bytes: [UInt8] = []
        sender.takeOutput(into: &bytes)
        bytes.withUnsafeBytes { receiver.absorb($0) }
    }
}

extension TLSFile {
    /// A fixture file named as if by `flag`.
    static func fixture(_ name: String, flag: String) -> TLSFile { TLSFile(TLSFixtures.path(name), flag: flag) }
}

extension TLSServerSettings {
    static func fixture(certificate: String = "server", clientCA: String? = nil) -> TLSServerSettings {
        TLSServerSettings(
            certificate: .fixture("\(certificate).pem", flag: "--tls-cert"), key: .fixture("\(certificate).key", flag: "--tls-key"),
            clientCA: clientCA.map { .fixture("\($0).pem", flag: "--tls-client-ca") })
    }
}

extension TLSClientSettings {
    static func fixture(ca: String = "ca", certificate: String? = nil) -> TLSClientSettings {
        TLSClientSettings(
            ca: .fixture("\(ca).pem", flag: "--ca"), certificate: certificate.map { .fixture("\($0).pem", flag: "--cert") },
            key: certificate.map { .fixture("\($0).key", flag: "--key") })
    }
}
