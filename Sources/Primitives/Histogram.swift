import Synchronization

/// A Prometheus-style histogram with fixed buckets (durations in nanoseconds, or sizes in bytes),
/// updated with relaxed atomics from any thread: recording costs a few comparisons and three atomic
/// adds, no lock and no allocation.
public final class Histogram: Sendable {
    /// Upper bounds, ascending; the last bucket (+Inf) is implicit.
    public let bounds: [Int64]
    private let buckets: [Bucket]
    private let total = Atomic<Int64>(0)
    private let samples = Atomic<UInt64>(0)

    /// Bounds for DNS response sizes in bytes: around 512, 1232, 1452 (one Ethernet frame) and beyond.
    public static let responseSizeBounds: [Int64] = [64, 128, 256, 512, 1_232, 1_452, 4_096, 16_384, 65_535]

    /// Bounds for I/O latencies in nanoseconds: 100 µs to 2.5 s.
    public static let ioBounds: [Int64] = [
        100_000, 250_000, 500_000, 1_000_000, 2_500_000, 5_000_000, 10_000_000, 25_000_000, 50_000_000,
        100_000_000, 250_000_000, 500_000_000, 1_000_000_000, 2_500_000_000,
    ]

    public init(bounds: [Int64] = Histogram.ioBounds) {
        precondition(bounds == bounds.sorted(), "histogram bounds ascend")
        self.bounds = bounds
        buckets = (0...bounds.count).map { _ in Bucket() }
    }

    public func record(_ value: Int64) {
        var index = 0
        while index < bounds.count, value > bounds[index] { index += 1 }
        buckets[index].count.add(1, ordering: .relaxed)
        total.add(max(0, value), ordering: .relaxed)
        samples.add(1, ordering: .relaxed)
    }

    /// Cumulative counts per bound (the last one is +Inf, equal to `count`), as Prometheus wants them.
    public var cumulativeCounts: [UInt64] {
        var running: UInt64 = 0
        return buckets.map { bucket in
            running += bucket.count.load(ordering: .relaxed)
            return running
        }
    }

    /// Atomics cannot live in an array; one small object each can.
    private final class Bucket: Sendable {
        let count = Atomic<UInt64>(0)
    }

    public var count: UInt64 { samples.load(ordering: .relaxed) }
    public var sum: Int64 { total.load(ordering: .relaxed) }
}
