/// A function's instances sorted by id, as a persistent B+tree.
///
/// Immutable like the entry that holds it: a change returns a new tree that shares every node but
/// the ones on the path from the root to the changed leaf, so registering the n-th instance of a
/// function copies O(log n) nodes of at most `fanout` slots instead of the whole list (a 10,000
/// instance function copied 10,000 references per registration), and a reader holding any version
/// keeps a consistent set without a lock.
package struct InstanceTree: Sendable {
    /// The most instances in a leaf and children in an inner node.
    static let fanout = 32

    private let root: Node?

    package static let empty = InstanceTree(root: nil)

    private init(root: Node?) { self.root = root }

    /// Builds a tree from instances already sorted by id, with unique ids: O(n).
    package init(sorted instances: [Instance]) {
        guard !instances.isEmpty else {
            root = nil
            return
        }
        var level: [Node] = stride(from: 0, to: instances.count, by: Self.fanout).map { start in
            Node(leaf: Array(instances[start..<Swift.min(start + Self.fanout, instances.count)]))
        }
        while level.count > 1 {
            level = stride(from: 0, to: level.count, by: Self.fanout).map { start in
                Node(children: Array(level[start..<Swift.min(start + Self.fanout, level.count)]))
            }
        }
        root = level[0]
    }

    package var count: Int { root?.count ?? 0 }
    package var isEmpty: Bool { root == nil }

    // MARK: - Lookups

    /// The instance with `id`: O(log n).
    package func instance(id: String) -> Instance? {
        var id = id
        return id.withUTF8 { instance(idBytes: UnsafeRawBufferPointer($0)) }
    }


    /// The instance whose id has these UTF-8 bytes (a label straight from a query; ids are lower-case
    /// ASCII, whose byte order is their `String` order): O(log n), no allocation.
    package func instance(idBytes: UnsafeRawBufferPointer) -> Instance? {
        guard var node = root else { return nil }
        while !node.isLeaf {
            let children = node.children
            // The last child whose first id is at most `idBytes`.
            var low = 0
            var high = children.count - 1
            while low < high {
                let middle = (low + high + 1) / 2
                if Self.compare(children[middle].firstID, idBytes) <= 0 { low = middle } else { high = middle - 1 }
            }
            node = children[low]
        }
        let instances = node.instances
        var low = 0
        var high = instances.count
        while low < high {
            let middle = (low + high) / 2
            if Self.compare(instances[middle].spec.id, idBytes) < 0 { low = middle + 1 } else { high = middle }
        }
        guard low < instances.count, Self.compare(instances[low].spec.id, idBytes) == 0 else { return nil }
        return instances[low]
    }

    /// The first instance in id order that satisfies `predicate`; recursive, so no allocation.
    package func first(where predicate: (Instance) -> Bool) -> Instance? {
        root.flatMap { Self.first(in: $0, where: predicate) }
    }

    package func contains(where predicate: (Instance) -> Bool) -> Bool { first(where: predicate) != nil }

    /// Calls `body` with every instance in id order.
    package func forEach(_ body: (Instance) -> Void) {
        if let root { Self.visit(root, body) }
    }

    /// Every instance in id order.
    package var elements: [Instance] {
        var result: [Instance] = []
        result.reserveCapacity(count)
        forEach { result.append($0) }
        return result
    }

    // MARK: - Changes

    /// The tree with `instance` in place of any instance with the same id: O(log n).
    package func inserting(_ instance: Instance) -> InstanceTree {
        guard let root else { return InstanceTree(root: Node(leaf: [instance])) }
        let replaced = Self.insert(instance, into: root)
        return InstanceTree(root: replaced.count == 1 ? replaced[0] : Node(children: replaced))
    }

    /// The tree without the instance with `instance`'s id, if that is this very instance: O(log n).
    package func removing(_ instance: Instance) -> InstanceTree {
        guard let root, instance === self.instance(id: instance.spec.id) else { return self }
        var shrunk = Self.remove(id: instance.spec.id, from: root)
        // An inner root left with one child gives way to it, so depth follows the count down.
        while let node = shrunk, !node.isLeaf, node.children.count == 1 { shrunk = node.children[0] }
        return InstanceTree(root: shrunk)
    }

    /// The tree without each of `gone` that is in it: O(k log n).
    package func removing(_ gone: some Sequence<Instance>) -> InstanceTree {
        var tree = self
        for instance in gone { tree = tree.removing(instance) }
        return tree
    }

    // MARK: - Nodes

    /// A leaf holds instances; an inner node holds children. Immutable, shared between versions.
    final class Node: Sendable {
        let instances: [Instance]
        let children: [Node]
        let count: Int
        let firstID: String

        init(leaf: [Instance]) {
            instances = leaf
            children = []
            count = leaf.count
            firstID = leaf[0].spec.id
        }

        init(children: [Node]) {
            instances = []
            self.children = children
            count = children.reduce(0) { $0 + $1.count }
            firstID = children[0].firstID
        }

        var isLeaf: Bool { children.isEmpty }
    }

    /// The node or nodes (after a split) that replace `node` once `instance` is in it.
    private static func insert(_ instance: Instance, into node: Node) -> [Node] {
        let id = instance.spec.id
        if node.isLeaf {
            var instances = node.instances
            let position = lowerBound(instances.count) { instances[$0].spec.id < id }
            if position < instances.count, instances[position].spec.id == id {
                instances[position] = instance
            } else {
                instances.insert(instance, at: position)
            }
            guard instances.count > fanout else { return [Node(leaf: instances)] }
            let half = instances.count / 2
            return [Node(leaf: Array(instances[..<half])), Node(leaf: Array(instances[half...]))]
        }
        var children = node.children
        let index = Swift.max(0, lowerBound(children.count) { children[$0].firstID <= id } - 1)
        children.replaceSubrange(index...index, with: insert(instance, into: children[index]))
        guard children.count > fanout else { return [Node(children: children)] }
        let half = children.count / 2
        return [Node(children: Array(children[..<half])), Node(children: Array(children[half...]))]
    }

    /// `node` without the instance with `id` (known to be below it), or nil when that empties it.
    private static func remove(id: String, from node: Node) -> Node? {
        if node.isLeaf {
            var instances = node.instances
            instances.removeAll { $0.spec.id == id }
            return instances.isEmpty ? nil : Node(leaf: instances)
        }
        var children = node.children
        let index = Swift.max(0, lowerBound(children.count) { children[$0].firstID <= id } - 1)
        if let shrunk = remove(id: id, from: children[index]) {
            children[index] = shrunk
        } else {
            children.remove(at: index)
        }
        return children.isEmpty ? nil : Node(children: children)
    }

    /// The first index in 0..<count where `isBefore` turns false (it must be true, then false).
    private static func lowerBound(_ count: Int, _ isBefore: (Int) -> Bool) -> Int {
        var low = 0
        var high = count
        while low < high {
            let middle = (low + high) / 2
            if isBefore(middle) { low = middle + 1 } else { high = middle }
        }
        return low
    }

    private static func first(in node: Node, where predicate: (Instance) -> Bool) -> Instance? {
        if node.isLeaf { return node.instances.first(where: predicate) }
        for child in node.children {
            if let found = first(in: child, where: predicate) { return found }
        }
        return nil
    }

    private static func visit(_ node: Node, _ body: (Instance) -> Void) {
        if node.isLeaf {
            for instance in node.instances { body(instance) }
        } else {
            for child in node.children { visit(child, body) }
        }
    }

    /// Byte-wise order of an id and a label: negative, zero or positive.
    @inline(__always)
    private static func compare(_ id: String, _ bytes: UnsafeRawBufferPointer) -> Int {
        let contiguous = id.utf8.withContiguousStorageIfAvailable { utf8 in compare(utf8, bytes) }
        return contiguous ?? compare(Array(id.utf8), bytes)
    }

    @inline(__always)
    private static func compare(_ utf8: some RandomAccessCollection<UInt8>, _ bytes: UnsafeRawBufferPointer) -> Int {
        var position = utf8.startIndex
        for byte in bytes {
            guard position != utf8.endIndex else { return -1 }
            if utf8[position] != byte { return Int(utf8[position]) - Int(byte) }
            position = utf8.index(after: position)
        }
        return position == utf8.endIndex ? 0 : 1
    }
}

extension InstanceTree: Sequence {
    /// Materializes the instances: for listings and tests; the packet path uses `first(where:)` and
    /// `instance(idBytes:)`, which allocate nothing.
    package func makeIterator() -> IndexingIterator<[Instance]> { elements.makeIterator() }

    package var underestimatedCount: Int { count }
}
