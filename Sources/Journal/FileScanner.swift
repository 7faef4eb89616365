import PosixIO

/// What reading one journal or snapshot file front to back found.
struct FileScan: Sendable {
    /// Where the intact prefix ends; the file's size when the whole file is good.
    var goodEnd: Int
    var fileSize: Int
    /// Nil when every byte belongs to an intact frame.
    var damage: Damage?

    struct Damage: Sendable, Equatable {
        /// The offset of the first byte that is not part of an intact frame.
        var offset: Int
        var reason: String
        /// Where the next intact frame after the damage starts, or nil when none does: the damage is
        /// then a torn tail (an interrupted append), not corruption in the middle.
        var nextFrame: Int?

        var isTail: Bool { nextFrame == nil }
    }
}

/// Reads framed files in chunks, so recovering a large snapshot never holds the whole file in memory.
enum FileScanner {
    /// Chunk size: several maximal frames, so that a refill is needed only once per chunk.
    static let chunkSize = 1 << 20

    /// Calls `visit` with each intact entry and its offset, in file order, until the file ends or
    /// the first damaged frame. `visit` returns false to stop at an entry that is intact but out of
    /// place (a snapshot structure error): that entry then counts as the damage.
    ///
    /// After damage it looks for any intact frame further on, to tell a torn tail (nothing
    /// follows: an append was interrupted) from corruption in the middle (good frames follow).
    static func scan(path: String, visit: (JournalEntry, Int) -> Bool) throws(SystemCallError) -> FileScan {
        let descriptor = FileDescriptor(taking: try Posix.openForReading(path))
        return try descriptor.withUnsafeDescriptor { (fd) throws(SystemCallError) -> FileScan in
            var size = try Posix.fileSize(fd)
            var buffer = [UInt8](repeating: 0, count: chunkSize)
            var base = 0  // the file offset of buffer[0]
            var filled = 0
            var position = 0
            while true {
                let check = buffer.withUnsafeBytes { Frame.check(UnsafeRawBufferPointer(rebasing: $0[position..<filled])) }
                switch check {
                case .frame(let entry, let length):
                    guard visit(entry, base + position) else {
                        return try damaged(fd, size: size, at: base + position, reason: "unexpected \(entry.kindName)")
                    }
                    position += length
                case .damaged(let reason):
                    return try damaged(fd, size: size, at: base + position, reason: reason)
                case .incomplete:
                    if base + filled >= size {
                        if position == filled { return FileScan(goodEnd: size, fileSize: size, damage: nil) }
                        return try damaged(fd, size: size, at: base + position, reason: "incomplete record")
                    }
                    let kept = filled - position
                    for index in 0..<kept { buffer[index] = buffer[position + index] }
                    base += position
                    position = 0
                    filled = kept
                    let count = try buffer.withUnsafeMutableBytes { raw in
                        catching { () throws(SystemCallError) in
                            try Posix.pread(fd, into: UnsafeMutableRawBufferPointer(rebasing: raw[kept...]), offset: base + kept)
                        }
                    }.get()
                    if count == 0 { size = base + filled }  // shrank while we read: stop at what we have
                    filled += count
                }
            }
        }
    }

    /// Builds the result for damage at `offset`, looking past it for an intact frame.
    private static func damaged(_ fd: CInt, size: Int, at offset: Int, reason: String) throws(SystemCallError)
        -> FileScan
    {
        let rest = try readRange(fd, from: offset + 1, to: size)
        let next: Int? = rest.withUnsafeBytes { raw in
            for start in 0..<raw.count {
                if case .frame = Frame.check(UnsafeRawBufferPointer(rebasing: raw[start...])) { return offset + 1 + start }
            }
            return nil
        }
        return FileScan(goodEnd: offset, fileSize: size, damage: .init(offset: offset, reason: reason, nextFrame: next))
    }

    /// The bytes of `[from, to)`; only on the damage path, which is rare and usually short.
    private static func readRange(_ fd: CInt, from: Int, to: Int) throws(SystemCallError) -> [UInt8] {
        guard to > from else { return [] }
        var bytes = [UInt8](repeating: 0, count: to - from)
        var done = 0
        while done < bytes.count {
            let count = try bytes.withUnsafeMutableBytes { raw in
                catching { () throws(SystemCallError) in
                    try Posix.pread(fd, into: UnsafeMutableRawBufferPointer(rebasing: raw[done...]), offset: from + done)
                }
            }.get()
            if count == 0 { break }
            done += count
        }
        bytes.removeSubrange(done...)
        return bytes
    }
}

extension JournalEntry {
    /// For log lines.
    var kindName: String {
        switch self {
        case .register: "register record"
        case .deregister: "deregister record"
        case .snapshotHeader: "snapshot header"
        case .snapshotEnd: "snapshot end"
        }
    }
}
