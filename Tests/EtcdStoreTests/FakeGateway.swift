import Primitives
import PosixIO
import Synchronization

/// A stand-in for an etcd gateway on a loopback port that answers every request through a handler,
/// on as many keep-alive connections as clients open (unlike `ScriptedServer`, which serves one
/// request). A `.stream` answer is written and the connection then held open, as a watch is.
final class FakeGateway: Sendable {
    enum Answer: Sendable {
        /// A complete JSON response.
        case reply(Int, String)
        /// Raw bytes (a chunked head and messages); the connection then stays open, unread.
        case stream(String)
        /// A whole response written as given (a chunked one, say); the next request is then read.
        case raw(String)
        /// The connection is closed without an answer.
        case close
    }

    typealias Handler = @Sendable (_ path: String, _ body: String) -> Answer

    let address: SocketAddress
    private let listener: Locked<FileDescriptor?>
    private let stopping = Atomic<Bool>(false)
    private let threads = Locked<[ThreadHandle]>([])
    private let log = Locked<[(path: String, body: String)]>([])

    init(handler: @escaping Handler) throws {
        let socket = try Sockets.tcpListener(bind: SocketAddress(parsing: "127.0.0.1:0")!)
        address = try Posix.localAddress(socket.rawValue)
        let raw = socket.rawValue
        listener = Locked(socket)
        let acceptor = Threads.start(name: "fake-gateway") { [self] in
            while !stopping.load(ordering: .acquiring) {
                guard case .processed(let (fd, _))? = try? Posix.accept(raw) else {
                    Posix.sleep(milliseconds: 2)
                    continue
                }
                let connection = Threads.start(name: "fake-gateway-conn") { [self] in
                    serve(FileDescriptor(taking: fd), handler)
                }
                threads.withLock { $0.append(connection) }
            }
        }
        threads.withLock { $0.append(acceptor) }
    }

    /// Every request received so far, in order.
    var requests: [(path: String, body: String)] { log.withLock { $0 } }

    func requests(to path: String) -> [String] { requests.filter { $0.path == path }.map(\.body) }

    func stop() {
        stopping.store(true, ordering: .releasing)
        var joined = 0
        while true {
            let pending = threads.withLock { Array($0.dropFirst(joined)) }
            if pending.isEmpty { break }
            for thread in pending { thread.join() }
            joined += pending.count
        }
        listener.withLock { $0 = nil }
    }

    private func serve(_ connection: borrowing FileDescriptor, _ handler: Handler) {
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while !stopping.load(ordering: .acquiring) {
            if let (path, body, used) = Self.request(in: pending) {
                pending.removeFirst(used)
                log.withLock { $0.append((path, body)) }
                switch handler(path, body) {
                case .reply(let status, let json):
                    write("HTTP/1.1 \(status) X\r\nContent-Type: application/json\r\nContent-Length: \(json.utf8.count)\r\n\r\n\(json)", to: connection)
                case .raw(let bytes):
                    write(bytes, to: connection)
                case .stream(let bytes):
                    write(bytes, to: connection)
                    while !stopping.load(ordering: .acquiring) { Posix.sleep(milliseconds: 5) }
                    return
                case .close:
                    return
                }
                continue
            }
            let result = buffer.withUnsafeMutableBytes { try? Posix.read(connection.rawValue, into: $0) }
            switch result {
            case .processed(let count)? where count > 0: pending += buffer[0..<count]
            case .processed?: return  // the client closed
            default: Posix.sleep(milliseconds: 1)
            }
        }
    }

    private func write(_ text: String, to connection: borrowing FileDescriptor) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count && !stopping.load(ordering: .relaxed) {
            let result = bytes[offset...].withUnsafeBytes { try? Posix.send(connection.rawValue, from: $0) }
            if case .processed(let count)? = result { offset += count } else { Posix.sleep(milliseconds: 1) }
        }
    }

    /// The first whole request in `bytes` (head and Content-Length body): path, body, bytes used.
    private static func request(in bytes: [UInt8]) -> (String, String, Int)? {
        let separator = Array("\r\n\r\n".utf8)
        guard bytes.count >= 4,
            let end = (0...(bytes.count - 4)).first(where: { bytes[$0..<$0 + 4].elementsEqual(separator) })
        else { return nil }
        let head = String(decoding: bytes[..<end], as: UTF8.self).split(separator: "\r\n")
        var length = 0
        for line in head.dropFirst() where line.lowercased().hasPrefix("content-length:") {
            length = Int(line.dropFirst("content-length:".count).trimmingPrefix(" ")) ?? 0
        }
        guard bytes.count - (end + 4) >= length else { return nil }
        let path = head.first.map { $0.split(separator: " ").dropFirst().first.map(String.init) ?? "" } ?? ""
        let body = String(decoding: bytes[(end + 4)..<(end + 4 + length)], as: UTF8.self)
        return (path, body, end + 4 + length)
    }
}
