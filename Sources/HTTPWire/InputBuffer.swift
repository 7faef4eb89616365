/// The bytes a parser has received and not yet consumed.
///
/// One `[UInt8]` whose capacity is kept: consumed bytes are dropped lazily, at the next append, by
/// moving the unconsumed tail to the front. A keep-alive connection therefore reuses one allocation
/// for its whole life (unless a large body grew it), and positions a parser keeps are relative to the
/// first unconsumed byte.
struct InputBuffer: Sendable {
    private var bytes: [UInt8] = []
    private var start = 0

    /// Storage up to this size is kept between messages; larger storage is freed once drained.
    static let retainedCapacity = 64 * 1024

    /// How many bytes are unconsumed.
    var count: Int { bytes.count - start }

    mutating func append(_ chunk: UnsafeRawBufferPointer) {
        guard !chunk.isEmpty else { return }
        if start > 0 {
            if start == bytes.count {
                // After a large body, give the memory back rather than hold it for the connection's life.
                bytes.removeAll(keepingCapacity: bytes.capacity <= Self.retainedCapacity)
            } else {
                bytes.removeSubrange(0..<start)
            }
            start = 0
        }
        bytes.append(contentsOf: chunk)
    }

    /// Drops `n` unconsumed bytes.
    mutating func consume(_ n: Int) {
        precondition(n >= 0 && n <= count)
        start += n
    }

    /// Copies out and consumes the first `n` unconsumed bytes.
    mutating func take(_ n: Int) -> [UInt8] {
        precondition(n >= 0 && n <= count)
        guard n > 0 else { return [] }
        defer { start += n }
        return Array(bytes[start..<start + n])
    }

    /// Lends the unconsumed bytes, offset 0 being the first of them.
    func withUnconsumedBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        bytes.withUnsafeBytes { all in body(UnsafeRawBufferPointer(rebasing: all[start...])) }
    }
}
