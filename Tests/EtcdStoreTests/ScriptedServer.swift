import Primitives
import PosixIO
import Synchronization

/// A stand-in for an etcd gateway on a loopback port: accepts one connection, reads one request
/// (head and Content-Length body), then writes `script` piece by piece with small pauses, so that
/// chunk boundaries fall where the test puts them.
final class ScriptedServer: Sendable {
    let address: SocketAddress
    private let listener: Locked<FileDescriptor?>
    private let received = Received()
    private let thread = Locked<ThreadHandle?>(nil)

    final class Received: Sendable {
        let text = Locked<String>("")
        let connected = Atomic<Bool>(false)
    }

    /// The request as received (empty until it has all arrived).
    var request: String { received.text.withLock { $0 } }
    var wasContacted: Bool { received.connected.load(ordering: .acquiring) }

    init(script: [String], waitMilliseconds: Int = 2_500) throws {
        let socket = try Sockets.tcpListener(bind: SocketAddress(parsing: "127.0.0.1:0")!)
        address = try Posix.localAddress(socket.rawValue)
        let raw = socket.rawValue
        listener = Locked(socket)
        let handle = Threads.start(name: "fake-etcd") { [received] in
            var client: CInt = -1
            for _ in 0..<(waitMilliseconds / 5) {
                if case .processed(let (fd, _))? = try? Posix.accept(raw) {
                    client = fd
                    break
                }
                Posix.sleep(milliseconds: 5)
            }
            guard client >= 0 else { return }
            received.connected.store(true, ordering: .releasing)
            let connection = FileDescriptor(taking: client)
            var bytes: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            for _ in 0..<400 where !Self.complete(bytes) {
                let result = buffer.withUnsafeMutableBytes { try? Posix.read(connection.rawValue, into: $0) }
                if case .processed(let count)? = result, count > 0 {
                    bytes += buffer[0..<count]
                } else {
                    Posix.sleep(milliseconds: 5)
                }
            }
            let text = String(decoding: bytes, as: UTF8.self)
            received.text.withLock { $0 = text }
            for piece in script {
                let bytes = Array(piece.utf8)
                var offset = 0
                while offset < bytes.count {
                    let result = bytes[offset...].withUnsafeBytes { try? Posix.send(connection.rawValue, from: $0) }
                    if case .processed(let count)? = result { offset += count } else { Posix.sleep(milliseconds: 1) }
                }
                Posix.sleep(milliseconds: 20)
            }
            Posix.sleep(milliseconds: 100)
        }
        thread.withLock { $0 = handle }
    }

    func join() { thread.withLock { $0 }?.join() }

    /// Whether `bytes` hold a whole request: the head, and as many body bytes as Content-Length says.
    private static func complete(_ bytes: [UInt8]) -> Bool {
        let separator = Array("\r\n\r\n".utf8)
        guard let end = (0..<max(0, bytes.count - 3)).first(where: { Array(bytes[$0..<$0 + 4]) == separator }) else {
            return false
        }
        var length = 0
        for line in String(decoding: bytes[..<end], as: UTF8.self).split(separator: "\r\n")
        where line.lowercased().hasPrefix("content-length:") {
            length = Int(line.dropFirst("content-length:".count).trimmingPrefix(" ")) ?? 0
        }
        return bytes.count - (end + 4) >= length
    }

    /// A complete JSON response.
    static func reply(_ status: Int, _ body: String) -> String {
        "HTTP/1.1 \(status) X\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
    }
}

/// A loopback port with nothing listening on it (connections are refused).
func refusedAddress() throws -> SocketAddress {
    let socket = try Sockets.tcpListener(bind: SocketAddress(parsing: "127.0.0.1:0")!)
    return try Posix.localAddress(socket.rawValue)  // closed when `socket` goes
}
