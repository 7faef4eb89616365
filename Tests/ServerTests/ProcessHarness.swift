import Primitives
import BeaconRuntime
import Clients
import DNSWire
import PosixIO
import Synchronization
import Testing

/// A process a test started, with its stdout and stderr in files. Killed (SIGKILL) and reaped when the
/// test drops it, so no test leaves a process behind, whatever it asserted.
final class Spawned: Sendable {
    let pid: Int32
    let stdoutPath: String
    let stderrPath: String
    private let ended = Locked<ChildProcess.Termination?>(nil)

    /// Starts `arguments` with stdout and stderr redirected to files in `directory`, named after `label`.
    init(_ arguments: [String], in directory: TemporaryDirectory, label: String) throws {
        stdoutPath = directory.path + "/\(label).out"
        stderrPath = directory.path + "/\(label).err"
        // sh sets up the redirections and then becomes the command (exec), so `pid` is the command's.
        pid = try ChildProcess.spawn(
            ["/bin/sh", "-c", "exec \"$0\" \"$@\" >\"\(stdoutPath)\" 2>\"\(stderrPath)\""] + arguments)
    }

    deinit { kill() }

    /// How it ended, once it has (reaping it).
    var termination: ChildProcess.Termination? {
        ended.withLock { state in
            if state == nil { state = ChildProcess.poll(pid) }
            return state
        }
    }

    /// Waits at most `seconds` for it to end.
    func wait(seconds: Double) -> ChildProcess.Termination? {
        let deadline = Posix.monotonicNanoseconds() + Int64(seconds * 1e9)
        while Posix.monotonicNanoseconds() < deadline {
            if let termination { return termination }
            Posix.sleep(milliseconds: 20)
        }
        return termination
    }

    func signal(_ signal: CInt) { try? Signals.send(signal, to: pid) }

    /// SIGKILL and reap, unless it already ended.
    func kill() {
        guard termination == nil else { return }
        signal(Signals.kill)
        _ = wait(seconds: 5)
    }

    var stdout: String { (try? Files.read(stdoutPath)).map { String(decoding: $0, as: UTF8.self) } ?? "" }
    var stderr: String { (try? Files.read(stderrPath)).map { String(decoding: $0, as: UTF8.self) } ?? "" }
}

/// A fresh directory under /tmp, removed when the test drops it.
final class TemporaryDirectory: Sendable {
    let path: String
    private static let counter = Atomic<Int>(0)

    init() throws {
        let serial = Self.counter.add(1, ordering: .relaxed).newValue
        path = "/tmp/beacon-tests-\(Posix.processID)-\(serial)"
        try Files.makeDirectories(path)
    }

    deinit {
        if let pid = try? ChildProcess.spawn(["rm", "-rf", path]) { _ = ChildProcess.wait(pid) }
    }

    func write(_ name: String, _ text: String) throws {
        try Files.writeAtomically(path + "/" + name, Array(text.utf8))
    }

    func remove(_ name: String) { try? Posix.unlink(path + "/" + name) }

    func read(_ name: String) -> String {
        (try? Files.read(path + "/" + name)).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }
}

enum ProcessHarness {
    /// The `beacon` binary built with this test bundle: beside it in the same build folder (so a
    /// sanitizer build with its own `--scratch-path` runs its own binary), else `.build/debug`.
    static let beacon: String = {
        if let bundle = Files.executablePath() {
            let sibling = Files.directoryName(of: bundle) + "/beacon"
            if Files.exists(sibling) { return sibling }
        }
        return RunningBeacon.repositoryRoot + "/.build/debug/beacon"
    }()
    static let fixtures = RunningBeacon.repositoryRoot + "/Tests/ServerTests/Fixtures"

    /// A loopback TCP port nobody listens on right now (bound to port 0, read back, closed).
    static func freePort() throws -> UInt16 {
        let socket = try Sockets.tcpListener(bind: SocketAddress(parsing: "127.0.0.1:0")!)
        return try socket.withUnsafeDescriptor { (fd) throws(SystemCallError) in try Posix.localAddress(fd).port }
    }

    /// Polls `condition` every 50 ms for at most `seconds`; true as soon as it holds.
    static func eventually(seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Posix.monotonicNanoseconds() + Int64(seconds * 1e9)
        while Posix.monotonicNanoseconds() < deadline {
            if condition() { return true }
            Posix.sleep(milliseconds: 50)
        }
        return condition()
    }

    /// The addresses `name` resolves to (A), empty on NXDOMAIN or no reply.
    static func addresses(_ name: String, dns: SocketAddress) -> [String] {
        guard let domain = try? DomainName(name),
            let reply = try? DNSClient(server: dns, timeoutMilliseconds: 500).query(domain, type: .a)
        else { return [] }
        return reply.answers.map(\.rdata.presentation)
    }

    /// The process id in a sidecar log line `started ... (pid N)`, for teardown of the grandchild.
    static func childPID(inLog log: String) -> Int32? {
        guard let rest = after("(pid ", in: log) else { return nil }
        return Int32(rest.prefix { $0.isNumber })
    }

    /// The drain the sidecar logged (`deregistered ID, drain 2.5 s`), in seconds.
    static func loggedDrain(_ log: String) -> Double? {
        guard let rest = after(", drain ", in: log) else { return nil }
        return Double(rest.prefix { $0.isNumber || $0 == "." })
    }

    /// The text after the first occurrence of `marker`.
    static func after(_ marker: String, in text: String) -> Substring? {
        var index = text.startIndex
        while index < text.endIndex {
            if text[index...].hasPrefix(marker) { return text[text.index(index, offsetBy: marker.count)...] }
            index = text.index(after: index)
        }
        return nil
    }

    /// Seconds since the epoch at which a log line containing `text` was written (the Log timestamp).
    static func loggedTime(_ log: String, containing text: String) -> Double? {
        guard let line = log.split(separator: "\n").first(where: { $0.contains(text) }) else { return nil }
        return parseTimestamp(String(line.prefix { $0 != " " }))
    }

    /// `2026-11-29T12:34:56.789Z` as seconds since the epoch (days from civil, Howard Hinnant's algorithm).
    static func parseTimestamp(_ text: String) -> Double? {
        let parts = text.split(whereSeparator: { "-T:Z".contains($0) })
        guard parts.count == 6, let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
            let hour = Int(parts[3]), let minute = Int(parts[4]), let second = Double(parts[5])
        else { return nil }
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        return Double(days * 86_400 + hour * 3_600 + minute * 60) + second
    }
}
