import Leases
import Primitives
import Testing

@Suite struct InstanceTreeTests {
    func instance(_ id: String, port: UInt16 = 80) -> Instance {
        Instance(spec: spec(id, port: port), deadline: t0.adding(seconds: 30), registeredAt: t0)
    }

    /// Random inserts, replacements and removals against a sorted-array model: same elements in the
    /// same order, and every lookup (by string and by bytes) agrees, at every step.
    @Test func randomChangesMatchASortedListModel() {
        var generator = SplitMix(seed: 14)
        var tree = InstanceTree.empty
        var model: [String: Instance] = [:]
        for step in 0..<6_000 {
            let id = "i\(generator.next() % 700)"
            if generator.next() % 3 == 0 {
                if let present = model[id] {
                    tree = tree.removing(present)
                    model[id] = nil
                }
            } else {
                let fresh = instance(id, port: UInt16(step % 60_000 + 1))
                tree = tree.inserting(fresh)
                model[id] = fresh
            }
            if step % 500 == 0 || step == 5_999 {
                let expected = model.keys.sorted()
                #expect(tree.elements.map(\.id) == expected)
                #expect(tree.count == expected.count)
                for key in expected { #expect(tree.instance(id: key) === model[key]) }
            }
            let probe = "i\(generator.next() % 700)"
            #expect(tree.instance(id: probe) === model[probe])
            var bytes = probe
            let byBytes = bytes.withUTF8 { tree.instance(idBytes: UnsafeRawBufferPointer($0)) }
            #expect(byBytes === model[probe])
        }
    }

    @Test func anOldVersionIsUntouchedByChangesToANewOne() {
        var tree = InstanceTree.empty
        for index in 0..<1_000 { tree = tree.inserting(instance("x\(index)")) }
        let old = tree
        let replaced = instance("x500", port: 9)
        tree = tree.inserting(replaced).removing(tree.instance(id: "x7")!)
        #expect(old.count == 1_000 && tree.count == 999)
        #expect(old.instance(id: "x500")?.spec.port == 80 && tree.instance(id: "x500") === replaced)
        #expect(old.instance(id: "x7") != nil && tree.instance(id: "x7") == nil)
    }

    @Test func removingAnotherInstanceWithTheSameIdChangesNothing() {
        let kept = instance("a")
        let tree = InstanceTree.empty.inserting(kept)
        #expect(tree.removing(instance("a")).instance(id: "a") === kept)
        #expect(tree.removing(kept).isEmpty)
    }

    @Test func aBulkBuiltTreeEqualsOneBuiltByInserts() {
        let instances = (0..<2_000).map { instance("b" + String(String(100_000 + $0).dropFirst())) }
        let built = InstanceTree(sorted: instances)
        var inserted = InstanceTree.empty
        for instance in instances.shuffled() { inserted = inserted.inserting(instance) }
        #expect(built.elements.map(\.id) == inserted.elements.map(\.id))
        #expect(built.first { $0.id == "b01999" } === instances.last)
        var visited = 0
        built.forEach { _ in visited += 1 }
        #expect(visited == 2_000)
    }
}
