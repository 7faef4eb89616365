import Primitives

/// Lease deadlines in a min-heap.
///
/// Entries may be stale: a heartbeat moves an instance's deadline without touching the heap, and a
/// replaced or deregistered instance leaves its entry behind. `LeaseTable.expire(now:)` checks each
/// popped entry against the table and re-queues renewed ones, so a sweep costs O(log n) per entry
/// it pops and nothing per live lease that is not yet due.
struct ExpiryHeap {
    struct Entry {
        var deadline: Instant
        var instance: Instance
    }

    private var heap = DeadlineHeap<Instance>()

    var count: Int { heap.count }
    var first: Entry? { heap.first.map(Self.entry) }

    mutating func push(_ entry: Entry) { heap.push(deadline: entry.deadline.nanoseconds, entry.instance) }

    mutating func popFirst() -> Entry? { heap.popFirst().map(Self.entry) }

    private static func entry(_ raw: DeadlineHeap<Instance>.Entry) -> Entry {
        Entry(deadline: Instant(nanoseconds: raw.deadline), instance: raw.payload)
    }
}
