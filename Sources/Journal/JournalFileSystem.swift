import PosixIO

/// The file operations the running store performs: appending, syncing and truncating the journal,
/// and writing, renaming and removing files during compaction.
///
/// A seam so that tests can make any one of them fail on cue (a full disk, EIO on fsync, a write
/// that stops half-way) without root, tmpfs or timing. Recovery at start reads and repairs files
/// through `Posix` directly: it runs before the store exists and its failures end start-up.
package protocol JournalFileSystem: Sendable {
    /// Opens `path` for appending, creating it if missing; `truncating` empties it first.
    func openForAppending(_ path: String, truncating: Bool) throws(SystemCallError) -> any JournalFile
    func rename(_ path: String, to newPath: String) throws(SystemCallError)
    /// Makes creations, renames and removals in `directory` durable.
    func syncDirectory(_ directory: String) throws(SystemCallError)
    func remove(_ path: String) throws(SystemCallError)
}

/// An open file that only grows at its end, except when `truncate` cuts off a failed append.
package protocol JournalFile: AnyObject, Sendable {
    var path: String { get }
    /// Writes all of `bytes` at the end of the file. A failure may leave part of them written.
    func append(_ bytes: [UInt8]) throws(SystemCallError)
    /// Makes everything appended so far durable (fdatasync: the size is data, other metadata is not).
    func sync() throws(SystemCallError)
    func truncate(to length: Int) throws(SystemCallError)
    func size() throws(SystemCallError) -> Int
}

/// The real file system.
package struct PosixFileSystem: JournalFileSystem {
    package init() {}

    package func openForAppending(_ path: String, truncating: Bool) throws(SystemCallError) -> any JournalFile {
        PosixJournalFile(path: path, descriptor: FileDescriptor(taking: try Posix.openForAppending(path, truncating: truncating)))
    }

    package func rename(_ path: String, to newPath: String) throws(SystemCallError) { try Posix.rename(path, to: newPath) }

    package func syncDirectory(_ directory: String) throws(SystemCallError) { try Files.syncDirectory(directory) }

    package func remove(_ path: String) throws(SystemCallError) { try Posix.unlink(path) }
}

/// A file opened with `O_APPEND`: after a truncation the next append lands at the new end.
final class PosixJournalFile: JournalFile {
    let path: String
    private let descriptor: FileDescriptor

    init(path: String, descriptor: consuming FileDescriptor) {
        self.path = path
        self.descriptor = descriptor
    }

    func append(_ bytes: [UInt8]) throws(SystemCallError) {
        try descriptor.withUnsafeDescriptor { (fd) throws(SystemCallError) in try Files.writeAll(fd, bytes) }
    }

    func sync() throws(SystemCallError) {
        try descriptor.withUnsafeDescriptor { (fd) throws(SystemCallError) in try Posix.fdatasync(fd) }
    }

    func truncate(to length: Int) throws(SystemCallError) {
        try descriptor.withUnsafeDescriptor { (fd) throws(SystemCallError) in try Posix.truncate(fd, to: length) }
    }

    func size() throws(SystemCallError) -> Int {
        try descriptor.withUnsafeDescriptor { (fd) throws(SystemCallError) in try Posix.fileSize(fd) }
    }
}
