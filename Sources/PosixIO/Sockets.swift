import CGlue
import Glibc

/// Socket set-up: the few shapes Beacon uses.
package enum Sockets {
    /// A UDP socket bound to `address`. With `reusePort`, several sockets share the port and the
    /// kernel spreads datagrams across them (SO_REUSEPORT), one per thread.
    package static func udp(bind address: SocketAddress, reusePort: Bool = false, receiveTimeoutMilliseconds: Int? = nil)
        throws(SystemCallError) -> FileDescriptor
    {
        let fd = FileDescriptor(taking: try Posix.socket(domain: address.family, type: CInt(SOCK_DGRAM.rawValue)))
        try fd.withUnsafeDescriptor { (raw) throws(SystemCallError) in
            if address.family == AF_INET6 { try Posix.setOption(raw, level: CInt(IPPROTO_IPV6), name: IPV6_V6ONLY, value: 1) }
            if reusePort { try Posix.setOption(raw, level: SOL_SOCKET, name: SO_REUSEPORT, value: 1) }
            try Posix.setOption(raw, level: SOL_SOCKET, name: SO_RCVBUF, value: 4 << 20)
            try Posix.setOption(raw, level: SOL_SOCKET, name: SO_SNDBUF, value: 4 << 20)
            if let timeout = receiveTimeoutMilliseconds {
                try Posix.setTimeout(raw, name: SO_RCVTIMEO, milliseconds: timeout)
            }
            try Posix.bind(raw, to: address)
        }
        return fd
    }

    /// A non-blocking UDP socket connected to `peer`, on a port the kernel picks at random: the kernel
    /// then delivers only the peer's datagrams and reports an ICMP refusal on the next read.
    package static func udpClient(connectedTo peer: SocketAddress) throws(SystemCallError) -> FileDescriptor {
        let type = CInt(SOCK_DGRAM.rawValue) | CInt(SOCK_NONBLOCK.rawValue)
        let fd = FileDescriptor(taking: try Posix.socket(domain: peer.family, type: type))
        _ = try Posix.connect(fd.rawValue, to: peer)
        return fd
    }

    /// A non-blocking TCP listening socket.
    package static func tcpListener(bind address: SocketAddress, reusePort: Bool = false, backlog: CInt = 1024)
        throws(SystemCallError) -> FileDescriptor
    {
        let type = CInt(SOCK_STREAM.rawValue) | CInt(SOCK_NONBLOCK.rawValue)
        let fd = FileDescriptor(taking: try Posix.socket(domain: address.family, type: type))
        try fd.withUnsafeDescriptor { (raw) throws(SystemCallError) in
            if address.family == AF_INET6 { try Posix.setOption(raw, level: CInt(IPPROTO_IPV6), name: IPV6_V6ONLY, value: 1) }
            try Posix.setOption(raw, level: SOL_SOCKET, name: SO_REUSEADDR, value: 1)
            if reusePort { try Posix.setOption(raw, level: SOL_SOCKET, name: SO_REUSEPORT, value: 1) }
            try Posix.bind(raw, to: address)
            try Posix.listen(raw, backlog: backlog)
        }
        return fd
    }

    /// A blocking TCP connection, for clients (CLI, sidecar, etcd, tests). Connect and each read wait
    /// at most `timeoutMilliseconds`.
    package static func tcpConnect(to address: SocketAddress, timeoutMilliseconds: Int) throws(SystemCallError)
        -> FileDescriptor
    {
        let type = CInt(SOCK_STREAM.rawValue) | CInt(SOCK_NONBLOCK.rawValue)
        let fd = FileDescriptor(taking: try Posix.socket(domain: address.family, type: type))
        try fd.withUnsafeDescriptor { (raw) throws(SystemCallError) in
            if case .wouldBlock = try Posix.connect(raw, to: address) {
                guard try Posix.poll(raw, events: Int16(POLLOUT), timeoutMilliseconds: timeoutMilliseconds) else {
                    throw SystemCallError(call: "connect \(address)", errno: .timedOut)
                }
                var error: CInt = 0
                var length = socklen_t(MemoryLayout<CInt>.size)
                _ = Glibc.getsockopt(raw, SOL_SOCKET, SO_ERROR, &error, &length)
                if error != 0 { throw SystemCallError(call: "connect \(address)", errno: Errno(rawValue: error)) }
            }
            try Posix.setOption(raw, level: CInt(IPPROTO_TCP), name: TCP_NODELAY, value: 1)
        }
        return fd
    }
}

extension Posix {
    /// Waits until `fd` has something to read (or an error); false on timeout.
    package static func waitReadable(_ fd: CInt, timeoutMilliseconds: Int) throws(SystemCallError) -> Bool {
        try poll(fd, events: Int16(POLLIN), timeoutMilliseconds: timeoutMilliseconds)
    }

    /// Waits until `fd` is ready for `events`; false on timeout. The corresponding C function is `poll`.
    package static func poll(_ fd: CInt, events: Int16, timeoutMilliseconds: Int) throws(SystemCallError) -> Bool {
        var entry = pollfd(fd: fd, events: events, revents: 0)
        let deadline = monotonicNanoseconds() + Int64(timeoutMilliseconds) * 1_000_000
        while true {
            let remaining = max(0, (deadline - monotonicNanoseconds()) / 1_000_000)
            let result = Glibc.poll(&entry, 1, CInt(timeoutMilliseconds < 0 ? -1 : remaining))
            if result >= 0 { return result > 0 }
            let error = Errno.current
            if error == .interrupted { continue }
            throw SystemCallError(call: "poll", errno: error)
        }
    }
}

/// A blocking, timed conversation over a connected socket: for clients, not for servers.
package struct BlockingStream: ~Copyable {
    package let descriptor: FileDescriptor
    package var timeoutMilliseconds: Int

    package init(connectingTo address: SocketAddress, timeoutMilliseconds: Int) throws(SystemCallError) {
        descriptor = try Sockets.tcpConnect(to: address, timeoutMilliseconds: timeoutMilliseconds)
        self.timeoutMilliseconds = timeoutMilliseconds
    }

    /// Sends all of `bytes`.
    package func write(_ bytes: [UInt8]) throws(SystemCallError) {
        var offset = 0
        try descriptor.withUnsafeDescriptor { (fd) throws(SystemCallError) in
            while offset < bytes.count {
                let result = try bytes.withUnsafeBytes { raw in
                    catching { () throws(SystemCallError) in
                        try Posix.send(fd, from: UnsafeRawBufferPointer(rebasing: raw[offset...]))
                    }
                }.get()
                switch result {
                case .processed(let count): offset += count
                case .wouldBlock:
                    guard try Posix.poll(fd, events: Int16(POLLOUT), timeoutMilliseconds: timeoutMilliseconds) else {
                        throw SystemCallError(call: "send", errno: .timedOut)
                    }
                }
            }
        }
    }

    /// Reads what is available (waiting up to the timeout for something); empty at end of stream.
    package func read(maximum: Int = 65_536) throws(SystemCallError) -> [UInt8] {
        try read(maximum: maximum, timeoutMilliseconds: timeoutMilliseconds)
    }

    package func read(maximum: Int, timeoutMilliseconds: Int) throws(SystemCallError) -> [UInt8] {
        try descriptor.withUnsafeDescriptor { (fd) throws(SystemCallError) -> [UInt8] in
            var buffer = [UInt8](repeating: 0, count: maximum)
            while true {
                let result = try buffer.withUnsafeMutableBytes { raw in
                    catching { () throws(SystemCallError) in try Posix.read(fd, into: raw) }
                }.get()
                switch result {
                case .processed(let count):
                    buffer.removeSubrange(count...)
                    return buffer
                case .wouldBlock:
                    guard try Posix.poll(fd, events: Int16(POLLIN), timeoutMilliseconds: timeoutMilliseconds) else {
                        throw SystemCallError(call: "read", errno: .timedOut)
                    }
                }
            }
        }
    }
}

/// Captures a typed error as a `Result`, for closures passed to APIs that only rethrow `any Error`.
package func catching<T, E: Error>(_ body: () throws(E) -> T) -> Result<T, E> {
    do throws(E) {
        return .success(try body())
    } catch {
        return .failure(error)
    }
}
