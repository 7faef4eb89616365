import PosixIO

/// What reading one journal or snapshot file front to back found.
struct FileScan: Sendable {
    /// Where the last intact frame ends: the file's size when nothing was cut off.
    var goodEnd: Int
    var fileSize: Int
    /// Damaged stretches with intact frames after them, skipped, in file order.
    var skipped: [Skipped] = []
    /// Damage with no intact frame after it: an interrupted append, to be cut off at `goodEnd`.
    var tornTail: String?

    struct Skipped: Sendable, Equatable {
        /// The bytes `[start, end)` belong to no intact frame; `end` is where the next one starts.
        var start: Int
        var end: Int
        var reason: String
    }

    /// Whether anything other than a torn tail was wrong.
    var hasDamageInTheMiddle: Bool { !skipped.isEmpty }
}

/// Reads framed files in chunks, so recovering a large snapshot never holds the whole file in memory.
///
/// Frames are self-delimiting and checksummed, so damage costs only the frames it touches: the
/// scanner skips to the next intact frame and carries on (salvage), and tells the caller where, so
/// that recovery can allow for what the skipped bytes may have held.
enum FileScanner {
    /// Chunk size: several maximal frames, so that a refill is needed only once per chunk.
    static let chunkSize = 1 << 20

    /// What `visit` sees, in file order.
    enum Event {
        case entry(JournalEntry, offset: Int)
        /// Bytes that are no intact frame (or an intact frame out of place), followed by intact frames.
        case skipped(FileScan.Skipped)
    }

    /// Calls `visit` with each intact entry and each skipped stretch, in file order, to the end of
    /// the file. `visit` returns false for an entry that is intact but out of place (a snapshot
    /// structure error): that frame then counts as damage.
    static func scan(path: String, visit: (Event) -> Bool) throws(SystemCallError) -> FileScan {
        let descriptor = FileDescriptor(taking: try Posix.openForReading(path))
        return try descriptor.withUnsafeDescriptor { (fd) throws(SystemCallError) -> FileScan in
            let size = try Posix.fileSize(fd)
            var result = FileScan(goodEnd: 0, fileSize: size)
            var reader = ChunkReader(fd: fd, size: size)
            // Damage found at `damageStart` (nil while reading intact frames), and why.
            var damage: (start: Int, reason: String)? = nil
            var offset = 0
            while offset < size {
                switch try reader.check(at: offset) {
                case .frame(let entry, let length):
                    if visit(.entry(entry, offset: offset)) {
                        offset += length
                        result.goodEnd = offset
                    } else {
                        damage = (offset, "unexpected \(entry.kindName)")
                    }
                case .damaged(let reason):
                    damage = (offset, reason)
                case .incomplete:
                    damage = (offset, "incomplete record")
                }
                guard let found = damage else { continue }
                damage = nil
                guard let next = try reader.nextFrame(after: found.start) else {
                    result.tornTail = "\(found.reason) at byte \(found.start)"
                    return result
                }
                let skipped = FileScan.Skipped(start: found.start, end: next, reason: found.reason)
                result.skipped.append(skipped)
                _ = visit(.skipped(skipped))
                offset = next
            }
            return result
        }
    }
}

/// A window onto a file read with `pread`, refilled as the scan moves on.
private struct ChunkReader {
    let fd: CInt
    let size: Int
    private var buffer: [UInt8] = []
    /// The file offset of `buffer[0]`.
    private var base = 0

    init(fd: CInt, size: Int) {
        self.fd = fd
        self.size = size
    }

    /// Examines the frame at `offset`, reading more of the file when the window does not hold it.
    mutating func check(at offset: Int) throws(SystemCallError) -> Frame.Check {
        let needed = Frame.headerSize + Frame.maximumPayload
        if offset < base || offset + min(needed, size - offset) > base + buffer.count {
            try fill(from: offset, count: FileScanner.chunkSize + needed)
        }
        return buffer.withUnsafeBytes { Frame.check(UnsafeRawBufferPointer(rebasing: $0[(offset - base)...])) }
    }

    /// Where the first intact frame after `offset` starts, or nil when none does.
    mutating func nextFrame(after offset: Int) throws(SystemCallError) -> Int? {
        var candidate = offset + 1
        while candidate < size {
            let windowEnd = min(size, candidate + FileScanner.chunkSize)
            try fill(from: candidate, count: FileScanner.chunkSize + Frame.headerSize + Frame.maximumPayload)
            let found: Int? = buffer.withUnsafeBytes { raw in
                for start in (candidate - base)..<(windowEnd - base) {
                    if case .frame = Frame.check(UnsafeRawBufferPointer(rebasing: raw[start...])) { return base + start }
                }
                return nil
            }
            if let found { return found }
            candidate = windowEnd
        }
        return nil
    }

    private mutating func fill(from offset: Int, count: Int) throws(SystemCallError) {
        let wanted = max(0, min(count, size - offset))
        buffer = [UInt8](repeating: 0, count: wanted)
        base = offset
        var done = 0
        while done < wanted {
            let read = try buffer.withUnsafeMutableBytes { raw in
                catching { () throws(SystemCallError) in
                    try Posix.pread(fd, into: UnsafeMutableRawBufferPointer(rebasing: raw[done...]), offset: offset + done)
                }
            }.get()
            if read == 0 { break }  // shrank while we read: stop at what we have
            done += read
        }
        buffer.removeSubrange(done...)
    }
}

extension JournalEntry {
    /// A register, renew or deregister (what the report counts as journal records), not a mark,
    /// an epoch or snapshot framing.
    var isTableRecord: Bool {
        switch self {
        case .register, .renew, .deregister: true
        case .mark, .epoch, .snapshotHeader, .snapshotEnd: false
        }
    }

    /// For log lines.
    var kindName: String {
        switch self {
        case .register: "register record"
        case .renew: "renew record"
        case .deregister: "deregister record"
        case .mark: "mark"
        case .epoch: "epoch"
        case .snapshotHeader: "snapshot header"
        case .snapshotEnd: "snapshot end"
        }
    }
}
