import Primitives
import Leases
import PosixIO
import Synchronization
import TestSupport
import Testing

/// The shared `Registry`: listeners, the table's index, `MemoryStore`, and several threads at once.
@Suite struct RegistryTests {
    @Test func listenersGetTheChangedFunctionsAndTheIndexAfterEachChange() throws {
        let registry = Registry()
        let recorder = ChangeRecorder(registry)
        _ = try registry.register(spec("a", function: "create", ttl: 10), now: t0)
        _ = try registry.register(spec("b", function: "create"), now: t0)
        _ = try registry.register(spec("b", function: "delete"), now: t0)  // a move touches both
        _ = registry.renew(id: "a", now: t0.adding(seconds: 1))
        _ = registry.deregister(id: "b", now: t0.adding(seconds: 2))
        registry.expire(now: t0.adding(seconds: 11))

        let lists = recorder.functionLists
        #expect(lists.count == 5)
        #expect(lists[0] == [key("orders", "create")])
        #expect(lists[1] == [key("orders", "create")])
        #expect(Set(lists[2]) == [key("orders", "create"), key("orders", "delete")])
        #expect(lists[3] == [key("orders", "delete")])
        #expect(lists[4] == [key("orders", "create")])
        let indexes = recorder.all.map(\.index)
        #expect(indexes == indexes.sorted() && Set(indexes).count == indexes.count)
        #expect(registry.read { $0.index(of: key("orders", "create")) } == indexes.last)
    }

    @Test func theGenerationRisesOnRegisterDeregisterAndExpiryButNotOnRenewal() throws {
        let registry = Registry()
        var generation = registry.read { $0.lastIndex }
        func rose() -> Bool {
            defer { generation = registry.read { $0.lastIndex } }
            return registry.read { $0.lastIndex } > generation
        }
        _ = try registry.register(spec("a", ttl: 10), now: t0)
        #expect(rose())
        _ = try registry.register(spec("b", ttl: 10), now: t0)
        #expect(rose())
        #expect(registry.renew(id: "a", now: t0.adding(seconds: 5)) != nil)
        #expect(!rose())
        #expect(registry.renew(id: "missing", now: t0) == nil)
        #expect(!rose())
        #expect(registry.deregister(id: "b", now: t0.adding(seconds: 6)) != nil)
        #expect(rose())
        #expect(registry.deregister(id: "b", now: t0.adding(seconds: 6)) == nil)
        #expect(!rose())
        #expect(registry.expire(now: t0.adding(seconds: 14)).isEmpty)
        #expect(!rose(), "a sweep that ends nothing changes nothing")
        #expect(registry.expire(now: t0.adding(seconds: 15)).map(\.id) == ["a"])
        #expect(rose())
        #expect(registry.counters.heartbeats.load(ordering: .relaxed) == 1)
        #expect(registry.counters.expirations.load(ordering: .relaxed) == 1)
    }

    @Test func aRegistryWithAnInitialIndexHandsOutIndexesAboveIt() throws {
        let registry = Registry(initialIndex: 1_700_000_000_000)
        _ = try registry.register(spec("a"), now: t0)
        #expect(try #require(registry.entry(key("orders", "create"))).index > 1_700_000_000_000)
    }

    @Test func theMemoryStoreAppliesMutationsAtItsClocksTime() throws {
        let clock = ManualClock(t0)
        let store = MemoryStore(registry: Registry(), clock: clock.closure)
        let results = Locked<[Result<Instance, StoreError>]>([])
        let collect: @Sendable (Result<Instance, StoreError>) -> Void = { result in
            results.withLock { $0.append(result) }
        }

        store.register(spec("a", ttl: 10), completion: collect)
        clock.advance(seconds: 4)
        store.renew(id: "a", completion: collect)
        clock.advance(seconds: 14)  // t0 + 18: the renewed lease ended at t0 + 14
        store.renew(id: "a", completion: collect)
        store.deregister(id: "a", completion: collect)
        store.register(spec("b", port: 0), completion: collect)

        let all = results.withLock { $0 }
        #expect(all.count == 5)
        let registered = try all[0].get()
        #expect(try all[1].get() === registered, "the renewal moved the same instance")
        #expect(registered.registeredAt == t0)
        #expect(registered.deadline == t0.adding(seconds: 14))
        for result in all[2...3] {
            guard case .failure(let error) = result else {
                Issue.record("expected unknownInstance, got \(result)")
                continue
            }
            #expect(error == .lease(.unknownInstance("a")))
        }
        #expect((try? all[4].get())?.spec.port == 0, "the store applies an InstanceSpec as given")
        #expect(store.unavailableReason == nil)
    }

    /// Writers register, renew and deregister on their own ids while readers check, on every read,
    /// that an entry is sorted, unique and only holds its own function, and that indexes never go
    /// back. Afterwards the table, the published changes and the index must all agree.
    @Test func concurrentWritersAndReadersLeaveAConsistentTable() throws {
        let registry = Registry()
        let recorder = ChangeRecorder(registry)
        let clock = ManualClock(t0)
        let writers = 3
        let readers = 2
        let operations = 2_000
        let functions = ["create", "delete"]
        let finishedWriters = Atomic<Int>(0)
        let successfulMutations = Atomic<Int>(0)
        let survivors = Locked<Set<String>>([])
        let problems = Locked<[String]>([])
        let readsDone = Atomic<Int>(0)
        let readersStarted = Atomic<Int>(0)

        var handles: [ThreadHandle] = []
        for reader in 0..<readers {
            handles.append(
                Threads.start(name: "reader\(reader)") {
                    var lastIndex: [String: UInt64] = [:]
                    var lastGeneration: UInt64 = 0
                    readersStarted.add(1, ordering: .releasing)
                    repeat {
                        let generation = registry.read { $0.lastIndex }
                        if generation < lastGeneration { problems.withLock { $0.append("generation went back") } }
                        lastGeneration = generation
                        for function in functions {
                            guard let entry = registry.entry(key("orders", function)) else { continue }
                            if let last = lastIndex[function], entry.index < last {
                                problems.withLock { $0.append("\(function) index \(entry.index) after \(last)") }
                            }
                            lastIndex[function] = entry.index
                            let ids = entry.instances.map(\.id)
                            if ids != ids.sorted() || Set(ids).count != ids.count {
                                problems.withLock { $0.append("\(function) entry not sorted and unique: \(ids)") }
                            }
                            if entry.instances.contains(where: { $0.spec.function != function }) {
                                problems.withLock { $0.append("\(function) entry holds another function's instance") }
                            }
                            if entry.live(at: clock.now).count != ids.count {
                                problems.withLock { $0.append("\(function) entry holds an instance that is not live") }
                            }
                        }
                        readsDone.add(1, ordering: .relaxed)
                    } while finishedWriters.load(ordering: .acquiring) < writers
                })
        }
        for writer in 0..<writers {
            handles.append(
                Threads.start(name: "writer\(writer)") {
                    // Start writing once the readers are reading, so the two really overlap.
                    while readersStarted.load(ordering: .acquiring) < readers {}
                    var random = SplitMix(seed: UInt64(writer + 1))
                    var live = Set<String>()
                    for _ in 0..<operations {
                        let id = "w\(writer)-\(random.below(50))"
                        let now = clock.now
                        switch random.below(4) {
                        case 0, 1:
                            let function = functions[Int(random.below(2))]
                            if (try? registry.register(
                                spec(id, function: function, port: UInt16(1 + random.below(60_000)), ttl: 600),
                                now: now)) != nil
                            {
                                live.insert(id)
                                successfulMutations.add(1, ordering: .relaxed)
                            }
                        case 2:
                            if registry.renew(id: id, now: now) != nil, !live.contains(id) {
                                problems.withLock { $0.append("renewed \(id), which is not live") }
                            }
                        default:
                            if registry.deregister(id: id, now: now) != nil {
                                live.remove(id)
                                successfulMutations.add(1, ordering: .relaxed)
                            }
                        }
                    }
                    survivors.withLock { $0.formUnion(live) }
                    finishedWriters.add(1, ordering: .releasing)
                })
        }
        for handle in handles { handle.join() }

        #expect(problems.withLock { $0 } == [])
        #expect(readsDone.load(ordering: .relaxed) > 0)
        let expected = survivors.withLock { $0 }
        #expect(registry.count == expected.count)
        let listed = functions.flatMap { registry.entry(key("orders", $0))?.instances.map(\.id) ?? [] }
        #expect(Set(listed) == expected)
        #expect(listed.count == expected.count, "each id sits in exactly one function")
        for id in expected { #expect(registry.instance(id: id, now: clock.now) != nil) }
        let mutations = UInt64(successfulMutations.load(ordering: .relaxed))
        // One published change per mutation; the index rises at least as often (a move changes two entries).
        #expect(recorder.count == Int(mutations))
        #expect(registry.read { $0.lastIndex } >= mutations)

        // Everything still held expires exactly once, and then nothing is left.
        let swept = registry.expire(now: clock.now.adding(seconds: 600))
        #expect(Set(swept.map(\.id)) == expected)
        #expect(registry.count == 0)
    }
}
