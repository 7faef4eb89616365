import PosixIO
import TLS

/// One blocking client connection, plain or TLS: what `HTTPClient` and the etcd watch talk through.
package final class ClientStream {
    private var plain: BlockingStream?
    private let secure: TLSClientStream?
    package let timeoutMilliseconds: Int

    /// Connects to `address`; with `tls`, also completes the handshake, verifying the server as `host`.
    package init(connectingTo address: SocketAddress, host: String, tls: TLSClientContext?, timeoutMilliseconds: Int)
        throws(ClientStreamError)
    {
        self.timeoutMilliseconds = timeoutMilliseconds
        if let tls {
            do throws(TLSStreamError) {
                secure = try TLSClientStream(
                    connectingTo: address, host: host, context: tls, timeoutMilliseconds: timeoutMilliseconds)
            } catch {
                throw ClientStreamError(error, connecting: true)
            }
            plain = nil
        } else {
            do throws(SystemCallError) {
                plain = try BlockingStream(connectingTo: address, timeoutMilliseconds: timeoutMilliseconds)
            } catch {
                throw ClientStreamError(error, connecting: true)
            }
            secure = nil
        }
    }

    /// Sends all of `bytes`.
    package func write(_ bytes: [UInt8]) throws(ClientStreamError) {
        if let secure {
            do throws(TLSStreamError) { try secure.write(bytes) } catch { throw ClientStreamError(error) }
        } else {
            do throws(SystemCallError) { try plain!.write(bytes) } catch { throw ClientStreamError(error) }
        }
    }

    /// Reads what is available, waiting up to the timeout for something; empty at end of stream.
    package func read(maximum: Int = 65_536, timeoutMilliseconds: Int? = nil) throws(ClientStreamError) -> [UInt8] {
        let timeout = timeoutMilliseconds ?? self.timeoutMilliseconds
        if let secure {
            do throws(TLSStreamError) {
                return try secure.read(maximum: maximum, timeoutMilliseconds: timeout)
            } catch {
                throw ClientStreamError(error)
            }
        }
        do throws(SystemCallError) {
            return try plain!.read(maximum: maximum, timeoutMilliseconds: timeout)
        } catch {
            throw ClientStreamError(error)
        }
    }
}

/// Why a client connection failed: one line, and whether it was only a timeout.
package struct ClientStreamError: Error, Sendable, CustomStringConvertible {
    package var message: String
    package var isTimeout: Bool

    /// - Parameter connecting: the error happened while connecting: the errno alone says it all
    ///   ("Connection refused") after the caller's "cannot connect to ADDRESS".
    init(_ error: SystemCallError, connecting: Bool = false) {
        message = connecting ? "\(error.errno)" : "\(error)"
        isTimeout = error.errno == .timedOut
    }

    init(_ error: TLSStreamError, connecting: Bool = false) {
        if connecting, case .system(let system) = error {
            message = "\(system.errno)"
        } else {
            message = error.description
        }
        isTimeout = error.isTimeout
    }

    package var description: String { message }
}
