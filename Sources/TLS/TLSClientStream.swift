import PosixIO

/// A blocking TLS conversation over a connected socket, for clients (the CLI, the sidecar, the etcd
/// store): the handshake happens in `init`, then `write` and `read` behave like `BlockingStream`'s,
/// with the same timeouts.
package final class TLSClientStream {
    private let stream: BlockingStream
    private let connection: TLSConnection
    /// Ciphertext waiting to go out, reused between calls.
    private var output: [UInt8] = []

    /// Connects, then completes the handshake, verifying the server as `host`.
    package init(connectingTo address: SocketAddress, host: String, context: TLSClientContext, timeoutMilliseconds: Int)
        throws(TLSStreamError)
    {
        do throws(SystemCallError) {
            stream = try BlockingStream(connectingTo: address, timeoutMilliseconds: timeoutMilliseconds)
        } catch {
            throw .system(error)
        }
        do throws(TLSError) {
            connection = try context.makeConnection(host: host)
        } catch {
            throw .tls(error.message)
        }
        while true {
            let step = connection.handshake()
            try flushOutput()
            switch step {
            case .plaintext: return
            case .needsInput:
                guard try fill() else { throw .tls("TLS handshake: the server closed the connection") }
            case .closed: throw .tls("TLS handshake: the server closed the connection")
            case .failed(let reason): throw .tls("TLS handshake: \(reason)")
            }
        }
    }

    /// The connection, for its negotiated version, cipher and protocol.
    package var session: TLSConnection { connection }

    /// Encrypts and sends all of `bytes`.
    package func write(_ bytes: [UInt8]) throws(TLSStreamError) {
        let sealed = bytes.withUnsafeBytes { connection.seal($0) }
        guard sealed else { throw .tls("TLS connection no longer usable") }
        try flushOutput()
    }

    /// Reads what is available (waiting up to the timeout for something); empty at end of stream.
    package func read(maximum: Int = 65_536, timeoutMilliseconds: Int) throws(TLSStreamError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: maximum)
        while true {
            let result = buffer.withUnsafeMutableBytes { connection.read(into: $0) }
            // Whatever the read produced (a key update's answer, an alert) goes out now.
            try flushOutput()
            switch result {
            case .plaintext(let count) where count > 0:
                buffer.removeSubrange(count...)
                return buffer
            case .plaintext:
                continue
            case .needsInput:
                guard try fill(timeoutMilliseconds: timeoutMilliseconds) else { return [] }
            case .closed:
                return []
            case .failed(let reason):
                throw .tls(reason)
            }
        }
    }

    /// Reads ciphertext from the socket into the connection; false at end of stream.
    private func fill(timeoutMilliseconds: Int? = nil) throws(TLSStreamError) -> Bool {
        let bytes: [UInt8]
        do throws(SystemCallError) {
            bytes = try stream.read(maximum: 65_536, timeoutMilliseconds: timeoutMilliseconds ?? stream.timeoutMilliseconds)
        } catch {
            throw .system(error)
        }
        if bytes.isEmpty { return false }
        bytes.withUnsafeBytes { connection.absorb($0) }
        return true
    }

    private func flushOutput() throws(TLSStreamError) {
        output.removeAll(keepingCapacity: true)
        connection.takeOutput(into: &output)
        guard !output.isEmpty else { return }
        do throws(SystemCallError) {
            try stream.write(output)
        } catch {
            throw .system(error)
        }
    }
}

/// Why a TLS client call failed: the socket (with its errno, `.timedOut` included) or TLS itself.
package enum TLSStreamError: Error, Sendable, CustomStringConvertible {
    case system(SystemCallError)
    case tls(String)

    package var isTimeout: Bool {
        if case .system(let error) = self { return error.errno == .timedOut }
        return false
    }

    package var description: String {
        switch self {
        case .system(let error): "\(error)"
        case .tls(let reason): reason
        }
    }
}
