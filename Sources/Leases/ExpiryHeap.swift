/// A binary min-heap of lease deadlines.
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

    private(set) var entries: [Entry] = []

    var count: Int { entries.count }
    var first: Entry? { entries.first }

    mutating func push(_ entry: Entry) {
        entries.append(entry)
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard entries[child].deadline < entries[parent].deadline else { break }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    mutating func popFirst() -> Entry? {
        guard !entries.isEmpty else { return nil }
        entries.swapAt(0, entries.count - 1)
        let top = entries.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < entries.count, entries[left].deadline < entries[smallest].deadline { smallest = left }
            if right < entries.count, entries[right].deadline < entries[smallest].deadline { smallest = right }
            guard smallest != parent else { break }
            entries.swapAt(parent, smallest)
            parent = smallest
        }
        return top
    }
}
