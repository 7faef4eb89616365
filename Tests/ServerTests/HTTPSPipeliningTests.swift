import BeaconRuntime
import HTTPWire
import PosixIO
import TLS
import TestSupport
import Testing

/// TLS records the server has decrypted no further because the session paused reading must still be
/// served once it resumes, though no socket event will say they are there.
@Suite("HTTPS pipelining", .serialized, .enabled(if: TLSFixtures.available))
struct HTTPSPipeliningTests {
    /// A TLS client driven by hand, so a test decides how requests map onto records and writes.
    final class RawTLSClient {
        let stream: BlockingStream
        let connection: TLSConnection

        init(_ address: SocketAddress) throws {
            stream = try BlockingStream(connectingTo: address, timeoutMilliseconds: 5_000)
            let context = try TLSClientContext(settings: TLSClientSettings(ca: TLSFile(TLSFixtures.path("ca.pem"), flag: "--ca")))
            connection = try context.makeConnection(host: "127.0.0.1")
            while true {
                let step = connection.handshake()
                try flush()
                if case .plaintext = step { break }
                guard case .needsInput = step else { throw TLSError("handshake: \(step)") }
                let bytes = try stream.read()
                guard !bytes.isEmpty else { throw TLSError("closed during the handshake") }
                bytes.withUnsafeBytes { connection.absorb($0) }
            }
        }

        /// Seals each request as its own record, then writes them all at once.
        func send(records: [String]) throws {
            for record in records { _ = Array(record.utf8).withUnsafeBytes { connection.seal($0) } }
            try flush()
        }

        func flush() throws {
            var output: [UInt8] = []
            connection.takeOutput(into: &output)
            if !output.isEmpty { try stream.write(output) }
        }

        /// Responses until `count` are complete or the stream ends.
        func responses(_ count: Int) throws -> [HTTPClientResponse] {
            var collector = HTTPResponseCollector()
            var result: [HTTPClientResponse] = []
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            while result.count < count {
                let read = buffer.withUnsafeMutableBytes { connection.read(into: $0) }
                switch read {
                case .plaintext(let length):
                    collector.append(Array(buffer[0..<length]))
                    while let response = try collector.next() { result.append(response) }
                case .needsInput:
                    let bytes = try stream.read()
                    if bytes.isEmpty { return result }
                    bytes.withUnsafeBytes { connection.absorb($0) }
                case .closed, .failed:
                    return result
                }
            }
            return result
        }
    }

    @Test func recordsBehindAParkedWatchAreServedWhenItAnswers() throws {
        let beacon = try HTTPSTests.beacon()
        let client = try RawTLSClient(beacon.server.httpAddress)
        try client.send(records: ["GET /v1/services/orders/create HTTP/1.1\r\nHost: b\r\n\r\n"])
        let listing = try client.responses(1)
        let index = String(decoding: listing.first?.body ?? [], as: UTF8.self)
            .split(separator: ",").first { $0.hasPrefix(#""index":"#) }?.dropFirst(8) ?? "0"
        try client.send(records: [
            "GET /v1/services/orders/create?index=\(index)&wait=500ms HTTP/1.1\r\nHost: b\r\n\r\n",
            "GET /healthz HTTP/1.1\r\nHost: b\r\n\r\n",
            "GET /healthz HTTP/1.1\r\nHost: b\r\n\r\n",
            "GET /healthz HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n",
        ])
        let started = Posix.monotonicNanoseconds()
        let replies = try client.responses(4)
        #expect(replies.map(\.status) == [200, 200, 200, 200])
        let seconds = Double(Posix.monotonicNanoseconds() - started) / 1e9
        #expect(seconds >= 0.4 && seconds < 3, "the watch waited its 500 ms, the rest followed at once: \(seconds) s")
    }
}
