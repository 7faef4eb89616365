/// A binary min-heap of payloads ordered by a deadline in nanoseconds.
///
/// Lease expiry and event-loop timers both need "the next thing due"; entries are never updated in
/// place: callers push again and skip stale ones as they pop them, which keeps every operation
/// O(log n) with no index to maintain.
package struct DeadlineHeap<Payload> {
    package struct Entry {
        package var deadline: Int64
        package var payload: Payload
    }

    package private(set) var entries: [Entry] = []

    package init() {}

    package var count: Int { entries.count }
    package var first: Entry? { entries.first }

    package mutating func push(deadline: Int64, _ payload: Payload) {
        entries.append(Entry(deadline: deadline, payload: payload))
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard entries[child].deadline < entries[parent].deadline else { break }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    package mutating func popFirst() -> Entry? {
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

extension DeadlineHeap: Sendable where Payload: Sendable {}
extension DeadlineHeap.Entry: Sendable where Payload: Sendable {}
