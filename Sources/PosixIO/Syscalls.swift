import CGlue
import Glibc

/// Thin wrappers over the system calls Beacon makes, one each.
///
/// Each reads `errno` straight after the call, retries EINTR, and throws `SystemCallError`.
package enum Posix {
    /// Runs `body` until it returns something other than -1 with EINTR.
    @inline(__always)
    static func retrying<T: BinaryInteger>(_ call: String, _ body: () -> T) throws(SystemCallError) -> T {
        while true {
            let result = body()
            if result != -1 { return result }
            let error = Errno.current
            if error == .interrupted { continue }
            precondition(!error.isProgrammingError, "\(call) failed with \(error): a bug in Beacon")
            throw SystemCallError(call: call, errno: error)
        }
    }

    /// Like `retrying`, but EAGAIN/EWOULDBLOCK is a value.
    @inline(__always)
    static func nonBlocking<T: BinaryInteger>(_ call: String, _ body: () -> T) throws(SystemCallError) -> IOResult<T> {
        while true {
            let result = body()
            if result != -1 { return .processed(result) }
            let error = Errno.current
            if error == .interrupted { continue }
            if error.rawValue == EAGAIN || error.rawValue == EWOULDBLOCK { return .wouldBlock }
            precondition(!error.isProgrammingError, "\(call) failed with \(error): a bug in Beacon")
            throw SystemCallError(call: call, errno: error)
        }
    }

    /// The corresponding C function is `socket`.
    package static func socket(domain: CInt, type: CInt) throws(SystemCallError) -> CInt {
        try retrying("socket") { Glibc.socket(domain, type | CInt(SOCK_CLOEXEC.rawValue), 0) }
    }

    /// The corresponding C function is `setsockopt`.
    package static func setOption(_ fd: CInt, level: CInt, name: CInt, value: CInt) throws(SystemCallError) {
        var value = value
        _ = try retrying("setsockopt") {
            Glibc.setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<CInt>.size))
        }
    }

    /// The corresponding C function is `setsockopt` with a `timeval`.
    package static func setTimeout(_ fd: CInt, name: CInt, milliseconds: Int) throws(SystemCallError) {
        var value = timeval(tv_sec: milliseconds / 1000, tv_usec: (milliseconds % 1000) * 1000)
        _ = try retrying("setsockopt") {
            Glibc.setsockopt(fd, SOL_SOCKET, name, &value, socklen_t(MemoryLayout<timeval>.size))
        }
    }

    /// The corresponding C function is `bind`.
    package static func bind(_ fd: CInt, to address: SocketAddress) throws(SystemCallError) {
        _ = try address.withSockAddr { pointer, length throws(SystemCallError) in
            try retrying("bind") { Glibc.bind(fd, pointer, length) }
        }
    }

    /// The corresponding C function is `listen`.
    package static func listen(_ fd: CInt, backlog: CInt) throws(SystemCallError) {
        _ = try retrying("listen") { Glibc.listen(fd, backlog) }
    }

    /// The corresponding C function is `accept4` (non-blocking, close-on-exec).
    package static func accept(_ fd: CInt) throws(SystemCallError) -> IOResult<(CInt, SocketAddress?)> {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = try withUnsafeMutablePointer(to: &storage) { pointer throws(SystemCallError) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address throws(SystemCallError) in
                try nonBlocking("accept4") {
                    CGlue.accept4(fd, address, &length, CInt(SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue))
                }
            }
        }
        switch result {
        case .processed(let client): return .processed((client, SocketAddress(storage: storage)))
        case .wouldBlock: return .wouldBlock
        }
    }

    /// The corresponding C function is `connect`. A non-blocking socket reports EINPROGRESS as `.wouldBlock`.
    package static func connect(_ fd: CInt, to address: SocketAddress) throws(SystemCallError) -> IOResult<Void> {
        while true {
            let result = address.withSockAddr { pointer, length in Glibc.connect(fd, pointer, length) }
            if result == 0 { return .processed(()) }
            let error = Errno.current
            if error == .interrupted { continue }
            if error == .inProgress { return .wouldBlock }
            throw SystemCallError(call: "connect", errno: error)
        }
    }

    /// The corresponding C function is `getsockname`.
    package static func localAddress(_ fd: CInt) throws(SystemCallError) -> SocketAddress {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = try withUnsafeMutablePointer(to: &storage) { pointer throws(SystemCallError) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address throws(SystemCallError) in
                try retrying("getsockname") { Glibc.getsockname(fd, address, &length) }
            }
        }
        guard let address = SocketAddress(storage: storage) else {
            throw SystemCallError(call: "getsockname", errno: Errno(rawValue: EAFNOSUPPORT))
        }
        return address
    }

    /// The corresponding C function is `read`.
    package static func read(_ fd: CInt, into buffer: UnsafeMutableRawBufferPointer) throws(SystemCallError)
        -> IOResult<Int>
    {
        try nonBlocking("read") { Glibc.read(fd, buffer.baseAddress, buffer.count) }
    }

    /// The corresponding C function is `write`.
    package static func write(_ fd: CInt, from buffer: UnsafeRawBufferPointer) throws(SystemCallError) -> IOResult<Int> {
        try nonBlocking("write") { Glibc.write(fd, buffer.baseAddress, buffer.count) }
    }

    /// The corresponding C function is `send` with MSG_NOSIGNAL (a closed peer gives EPIPE, not SIGPIPE).
    package static func send(_ fd: CInt, from buffer: UnsafeRawBufferPointer) throws(SystemCallError) -> IOResult<Int> {
        try nonBlocking("send") { Glibc.send(fd, buffer.baseAddress, buffer.count, CInt(MSG_NOSIGNAL)) }
    }

    /// The corresponding C function is `recvfrom`.
    package static func receive(_ fd: CInt, into buffer: UnsafeMutableRawBufferPointer) throws(SystemCallError)
        -> IOResult<(Int, SocketAddress?)>
    {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = try withUnsafeMutablePointer(to: &storage) { pointer throws(SystemCallError) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address throws(SystemCallError) in
                try nonBlocking("recvfrom") {
                    Glibc.recvfrom(fd, buffer.baseAddress, buffer.count, 0, address, &length)
                }
            }
        }
        switch result {
        case .processed(let count): return .processed((count, SocketAddress(storage: storage)))
        case .wouldBlock: return .wouldBlock
        }
    }

    /// The corresponding C function is `sendto`.
    package static func send(_ fd: CInt, from buffer: UnsafeRawBufferPointer, to address: SocketAddress)
        throws(SystemCallError) -> IOResult<Int>
    {
        try address.withSockAddr { pointer, length throws(SystemCallError) in
            try nonBlocking("sendto") {
                Glibc.sendto(fd, buffer.baseAddress, buffer.count, CInt(MSG_NOSIGNAL), pointer, length)
            }
        }
    }

    /// The corresponding C function is `recvmmsg`.
    package static func receiveMessages(
        _ fd: CInt, _ messages: UnsafeMutablePointer<beacon_mmsghdr>, count: Int, flags: CInt
    ) throws(SystemCallError) -> IOResult<Int> {
        try nonBlocking("recvmmsg") { Int(CGlue.recvmmsg(fd, messages, CUnsignedInt(count), flags, nil)) }
    }

    /// The corresponding C function is `sendmmsg`.
    package static func sendMessages(_ fd: CInt, _ messages: UnsafeMutablePointer<beacon_mmsghdr>, count: Int)
        throws(SystemCallError) -> IOResult<Int>
    {
        try nonBlocking("sendmmsg") { Int(CGlue.sendmmsg(fd, messages, CUnsignedInt(count), CInt(MSG_NOSIGNAL))) }
    }

    /// The corresponding C function is `shutdown`.
    package static func shutdown(_ fd: CInt, how: CInt) {
        _ = Glibc.shutdown(fd, how)
    }

    /// The corresponding C function is `fcntl(F_DUPFD_CLOEXEC)`: a second descriptor for the same open
    /// socket (several event loops accepting from one listening socket).
    package static func duplicate(_ fd: CInt) throws(SystemCallError) -> CInt {
        try retrying("fcntl") { Glibc.fcntl(fd, F_DUPFD_CLOEXEC, 0) }
    }

    /// The corresponding C function is `close`. EINTR is not retried: on Linux the descriptor is gone either way.
    package static func close(_ fd: CInt) {
        _ = Glibc.close(fd)
    }

    /// The corresponding C function is `fcntl(F_SETFL, O_NONBLOCK)`.
    package static func setNonBlocking(_ fd: CInt) throws(SystemCallError) {
        let flags = try retrying("fcntl") { Glibc.fcntl(fd, F_GETFL) }
        _ = try retrying("fcntl") { Glibc.fcntl(fd, F_SETFL, flags | O_NONBLOCK) }
    }

    // MARK: - epoll and eventfd

    /// The corresponding C function is `epoll_create1`.
    package static func epollCreate() throws(SystemCallError) -> CInt {
        try retrying("epoll_create1") { CGlue.epoll_create1(CInt(EPOLL_CLOEXEC)) }
    }

    /// The corresponding C function is `epoll_ctl`.
    package static func epollControl(_ epoll: CInt, operation: CInt, fd: CInt, events: UInt32, data: UInt64)
        throws(SystemCallError)
    {
        var event = epoll_event()
        event.events = events
        event.data.u64 = data
        _ = try retrying("epoll_ctl") { CGlue.epoll_ctl(epoll, operation, fd, &event) }
    }

    /// The corresponding C function is `epoll_wait`.
    package static func epollWait(_ epoll: CInt, into events: UnsafeMutableBufferPointer<epoll_event>, timeout: CInt)
        throws(SystemCallError) -> Int
    {
        let result = CGlue.epoll_wait(epoll, events.baseAddress, CInt(events.count), timeout)
        if result == -1 {
            let error = Errno.current
            if error == .interrupted { return 0 }
            throw SystemCallError(call: "epoll_wait", errno: error)
        }
        return Int(result)
    }

    /// The corresponding C function is `eventfd`.
    package static func eventFD() throws(SystemCallError) -> CInt {
        try retrying("eventfd") { CGlue.eventfd(0, CInt(EFD_NONBLOCK | EFD_CLOEXEC)) }
    }

    /// A blocking eventfd, for a thread that sleeps in `read` until another one writes: a wakeup
    /// that needs no condition variable. The corresponding C function is `eventfd`.
    package static func blockingEventFD() throws(SystemCallError) -> CInt {
        try retrying("eventfd") { CGlue.eventfd(0, CInt(EFD_CLOEXEC)) }
    }

    // MARK: - Files

    /// The corresponding C function is `open`.
    package static func open(_ path: String, flags: CInt, mode: mode_t = 0o644) throws(SystemCallError) -> CInt {
        try retrying("open \(path)") { Glibc.open(path, flags | O_CLOEXEC, mode) }
    }

    /// Opens a file read-only. The corresponding C function is `open` with `O_RDONLY`.
    package static func openForReading(_ path: String) throws(SystemCallError) -> CInt {
        try open(path, flags: O_RDONLY)
    }

    /// Opens (creating it if missing) a file whose every write goes to its end; `truncating` empties
    /// it first. The corresponding C function is `open` with `O_WRONLY | O_CREAT | O_APPEND`.
    package static func openForAppending(_ path: String, truncating: Bool = false) throws(SystemCallError) -> CInt {
        try open(path, flags: O_WRONLY | O_CREAT | O_APPEND | (truncating ? O_TRUNC : 0))
    }

    /// The corresponding C function is `pread`.
    package static func pread(_ fd: CInt, into buffer: UnsafeMutableRawBufferPointer, offset: Int)
        throws(SystemCallError) -> Int
    {
        try retrying("pread") { Glibc.pread(fd, buffer.baseAddress, buffer.count, off_t(offset)) }
    }

    /// The corresponding C function is `fsync`.
    package static func fsync(_ fd: CInt) throws(SystemCallError) {
        _ = try retrying("fsync") { Glibc.fsync(fd) }
    }

    /// The corresponding C function is `fdatasync`.
    package static func fdatasync(_ fd: CInt) throws(SystemCallError) {
        _ = try retrying("fdatasync") { Glibc.fdatasync(fd) }
    }

    /// The corresponding C function is `ftruncate`.
    package static func truncate(_ fd: CInt, to length: Int) throws(SystemCallError) {
        _ = try retrying("ftruncate") { Glibc.ftruncate(fd, off_t(length)) }
    }

    /// The corresponding C function is `rename`.
    package static func rename(_ from: String, to: String) throws(SystemCallError) {
        _ = try retrying("rename \(from)") { Glibc.rename(from, to) }
    }

    /// The corresponding C function is `unlink`.
    package static func unlink(_ path: String) throws(SystemCallError) {
        _ = try retrying("unlink \(path)") { Glibc.unlink(path) }
    }

    /// Removes an empty directory. The corresponding C function is `rmdir`.
    package static func removeDirectory(_ path: String) throws(SystemCallError) {
        _ = try retrying("rmdir \(path)") { Glibc.rmdir(path) }
    }

    /// The corresponding C function is `mkdir`.
    package static func makeDirectory(_ path: String, mode: mode_t = 0o755) throws(SystemCallError) {
        _ = try retrying("mkdir \(path)") { Glibc.mkdir(path, mode) }
    }

    /// The corresponding C function is `fstat` (the file's size).
    package static func fileSize(_ fd: CInt) throws(SystemCallError) -> Int {
        var info = stat()
        _ = try retrying("fstat") { Glibc.fstat(fd, &info) }
        return Int(info.st_size)
    }
}
