import Primitives
import Journal
import PosixIO
import Synchronization

/// The real file system, except that chosen operations fail (or pause) on cue: a deterministic
/// way to get ENOSPC, EIO on fsync, a write that stops half-way, or a crash between two steps of
/// compaction, without root, tmpfs or timing.
final class FaultyFileSystem: JournalFileSystem {
    enum Operation: String, Sendable {
        case open, append, sync, truncate, size, rename, syncDirectory, remove
    }

    struct Fault: Sendable {
        var operation: Operation
        /// Only paths containing this (empty: any path).
        var path: String = ""
        var errno: Errno = .noSpace
        /// Let this many matching calls succeed first.
        var skip = 0
        /// Fail this many matching calls, then stop.
        var times = 1
        /// For `append`: write this many bytes before failing, as a torn write does.
        var partialBytes = 0
    }

    private let real = PosixFileSystem()
    private let faults = Locked<[Fault]>([])
    private let history = Locked<[(Operation, String)]>([])
    /// Called before every operation with its kind and path; may block (a gate).
    let hook = Locked<(@Sendable (Operation, String) -> Void)?>(nil)

    init() {}

    func inject(_ fault: Fault) { faults.withLock { $0.append(fault) } }

    /// Faults injected and not yet used up.
    var pendingFaults: Int { faults.withLock { $0.count } }

    var operations: [(Operation, String)] { history.withLock { $0 } }

    /// Records the call, runs the hook, and throws when a fault matches.
    func check(_ operation: Operation, _ path: String) throws(SystemCallError) {
        history.withLock { $0.append((operation, path)) }
        if let hook = hook.withLock({ $0 }) { hook(operation, path) }
        let fault: Fault? = faults.withLock { faults in
            guard let index = faults.firstIndex(where: { $0.operation == operation && (($0.path.isEmpty) || path.contains($0.path)) })
            else { return nil }
            if faults[index].skip > 0 {
                faults[index].skip -= 1
                return nil
            }
            let fault = faults[index]
            faults[index].times -= 1
            if faults[index].times == 0 { faults.remove(at: index) }
            return fault
        }
        if let fault { throw PartialFailure(fault: fault).error }
    }

    func openForAppending(_ path: String, truncating: Bool) throws(SystemCallError) -> any JournalFile {
        try check(.open, path)
        return FaultyFile(real: try real.openForAppending(path, truncating: truncating), owner: self)
    }

    func rename(_ path: String, to newPath: String) throws(SystemCallError) {
        try check(.rename, path)
        try real.rename(path, to: newPath)
    }

    func syncDirectory(_ directory: String) throws(SystemCallError) {
        try check(.syncDirectory, directory)
        try real.syncDirectory(directory)
    }

    func remove(_ path: String) throws(SystemCallError) {
        try check(.remove, path)
        try real.remove(path)
    }

    /// The first fault matching an append, without consuming it (for partial writes).
    func appendFault(_ path: String) -> Fault? {
        faults.withLock { faults in
            faults.first { $0.operation == .append && ($0.path.isEmpty || path.contains($0.path)) && $0.skip == 0 }
        }
    }
}

private struct PartialFailure {
    var fault: FaultyFileSystem.Fault
    var error: SystemCallError { SystemCallError(call: "\(fault.operation.rawValue) (injected)", errno: fault.errno) }
}

final class FaultyFile: JournalFile {
    private let real: any JournalFile
    private let owner: FaultyFileSystem

    init(real: any JournalFile, owner: FaultyFileSystem) {
        self.real = real
        self.owner = owner
    }

    var path: String { real.path }

    func append(_ bytes: [UInt8]) throws(SystemCallError) {
        if let fault = owner.appendFault(path), fault.partialBytes > 0 {
            try real.append(Array(bytes.prefix(fault.partialBytes)))
        }
        try owner.check(.append, path)
        try real.append(bytes)
    }

    func sync() throws(SystemCallError) {
        try owner.check(.sync, path)
        try real.sync()
    }

    func truncate(to length: Int) throws(SystemCallError) {
        try owner.check(.truncate, path)
        try real.truncate(to: length)
    }

    func size() throws(SystemCallError) -> Int {
        try owner.check(.size, path)
        return try real.size()
    }
}
