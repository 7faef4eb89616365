import Leases
import PosixIO

/// The snapshot: every live instance as of the start of one journal generation.
///
/// Layout: a `snapshotHeader(generation)` frame, one `register` frame per instance, and a
/// `snapshotEnd(count)` frame. It is only ever written as `snapshot.tmp` and renamed into place
/// after an fsync, so a crash leaves the old snapshot or the new one, never a mixture; the end
/// frame and its count still let a reader notice a file that lost its tail anyway.
enum SnapshotFile {
    /// Flush the buffer to the file past this many bytes: bounded memory for any table size.
    static let flushThreshold = 1 << 20

    struct Written: Sendable {
        var instances: Int
        var bytes: Int
    }

    /// Writes the instances of `entries` live at `now` to `snapshot.tmp`, syncs it, renames it over
    /// `snapshot`, and syncs the directory. On failure the old snapshot (if any) is still in place.
    static func write(
        _ entries: [FunctionEntry], generation: UInt64, liveAt now: Instant, directory: JournalDirectory,
        fileSystem: any JournalFileSystem
    ) throws(SystemCallError) -> Written {
        let file = try fileSystem.openForAppending(directory.temporarySnapshotPath, truncating: true)
        var buffer: [UInt8] = []
        buffer.reserveCapacity(flushThreshold + Frame.maximumPayload + Frame.headerSize)
        var written = Written(instances: 0, bytes: 0)
        Frame.append(.snapshotHeader(generation: generation), to: &buffer)
        for entry in entries {
            for instance in entry.instances where instance.isLive(at: now) {
                Frame.append(.register(instance.spec), to: &buffer)
                written.instances += 1
            }
            if buffer.count >= flushThreshold {
                try file.append(buffer)
                written.bytes += buffer.count
                buffer.removeAll(keepingCapacity: true)
            }
        }
        Frame.append(.snapshotEnd(count: UInt64(written.instances)), to: &buffer)
        try file.append(buffer)
        written.bytes += buffer.count
        try file.sync()
        try fileSystem.rename(directory.temporarySnapshotPath, to: directory.snapshotPath)
        try fileSystem.syncDirectory(directory.path)
        return written
    }

    /// What reading a snapshot found.
    struct Loaded: Sendable {
        /// Nil when even the header is unreadable.
        var generation: UInt64?
        /// Registrations handed to `apply`.
        var instances: Int
        /// Why the file is not a whole snapshot, with the byte offset; nil when it is.
        var problem: String?
    }

    /// Reads a snapshot, handing each registration to `apply` in file order. A damaged snapshot
    /// still yields the registrations before the damage.
    static func read(_ path: String, apply: (InstanceSpec) -> Void) throws(SystemCallError) -> Loaded {
        var loaded = Loaded(generation: nil, instances: 0, problem: nil)
        var endCount: UInt64? = nil
        let scan = try FileScanner.scan(path: path) { entry, _ in
            switch entry {
            case .snapshotHeader(let generation) where loaded.generation == nil && loaded.instances == 0:
                loaded.generation = generation
                return true
            case .register(let spec) where loaded.generation != nil && endCount == nil:
                apply(spec)
                loaded.instances += 1
                return true
            case .snapshotEnd(let count) where loaded.generation != nil && endCount == nil:
                endCount = count
                return true
            default:
                return false
            }
        }
        if let damage = scan.damage {
            loaded.problem = "\(damage.reason) at byte \(damage.offset)"
        } else if endCount == nil {
            loaded.problem = "no end record (cut short at byte \(scan.fileSize))"
        } else if endCount != UInt64(loaded.instances) {
            loaded.problem = "end record counts \(endCount!) instances but \(loaded.instances) precede it"
        }
        return loaded
    }
}
