/// A binary min-heap of payloads ordered by a deadline in nanoseconds.
///
/// Lease expiry and event-loop timers both need "the next thing due"; entries are never updated in
/// place: callers push again and skip stale ones as they pop them, which keeps every operation
/// O(log n) with no index to maintain.
///
/// Public and `@inlinable` so that each user's concrete `Payload` is specialized: unspecialized, every
/// swap went through value witnesses and reference counting. (With Swift 6.3, `@inlinable package`
/// declarations were not specialized across modules; `public` ones are.)
public struct DeadlineHeap<Payload> {
    public struct Entry {
        public var deadline: Int64
        public var payload: Payload

        @inlinable
        public init(deadline: Int64, payload: Payload) {
            self.deadline = deadline
            self.payload = payload
        }
    }

    @usableFromInline
    internal var entries: [Entry] = []

    @inlinable
    public init() {}

    @inlinable
    public var count: Int { entries.count }

    @inlinable
    public var first: Entry? { entries.first }

    @inlinable
    public mutating func push(deadline: Int64, _ payload: Payload) {
        entries.append(Entry(deadline: deadline, payload: payload))
        entries.withUnsafeMutableBufferPointer { heap in
            var child = heap.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard heap[child].deadline < heap[parent].deadline else { break }
                heap.swapAt(child, parent)
                child = parent
            }
        }
    }

    @inlinable
    public mutating func popFirst() -> Entry? {
        guard !entries.isEmpty else { return nil }
        // Swaps on the buffer move entries: swapping through the array would copy them and retain
        // each payload, a cache miss per level when payloads are a million cold objects.
        entries.withUnsafeMutableBufferPointer { $0.swapAt(0, $0.count - 1) }
        let top = entries.removeLast()
        entries.withUnsafeMutableBufferPointer { heap in
            var parent = 0
            while true {
                let left = 2 * parent + 1
                let right = left + 1
                var smallest = parent
                if left < heap.count, heap[left].deadline < heap[smallest].deadline { smallest = left }
                if right < heap.count, heap[right].deadline < heap[smallest].deadline { smallest = right }
                guard smallest != parent else { break }
                heap.swapAt(parent, smallest)
                parent = smallest
            }
        }
        return top
    }
}

extension DeadlineHeap: Sendable where Payload: Sendable {}
extension DeadlineHeap.Entry: Sendable where Payload: Sendable {}
