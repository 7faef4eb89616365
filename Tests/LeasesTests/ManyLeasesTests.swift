import Primitives
import Leases
import TestSupport
import Testing

/// The sweep at scale: every lease ends exactly at its deadline, none early, none twice, with
/// renewals moving deadlines under the heap.
@Suite struct ManyLeasesTests {
    static let limits = LeaseLimits(maxInstances: 200_000, maxInstancesPerFunction: 10_000)
    static let bigCount = 100_000
    static let stepCount = 20_000

    /// 100,000 registrations with random TTLs (1 s to a day) at random nanosecond offsets, spread
    /// over 10,000 functions, then swept in 1,000 steps. Each step ends at some lease's deadline
    /// and sweeps twice: one nanosecond before it (ending exactly the leases due since the last
    /// step, and not that one) and at it (ending exactly the leases with that deadline).
    @Test func everyOneOf100kLeasesExpiresExactlyAtItsDeadlineAndNoneEarly() {
        var table = LeaseTable(limits: Self.limits)
        var random = SplitMix(seed: 0x5EED)
        var now = t0
        var byDeadline: [(deadline: Instant, id: String)] = []
        byDeadline.reserveCapacity(Self.bigCount)
        let services = (0..<20).map { "s\($0)" }
        let functions = (0..<500).map { "f\($0)" }
        for index in 0..<Self.bigCount {
            now = now.adding(nanoseconds: Int64(random.below(1_000_000)))
            let ttl = UInt32(1 + random.below(86_400))
            let spec = InstanceSpec(
                service: services[index % 20], function: functions[index / 20 % 500], id: "i\(index)",
                address: .v4(0x0A00_0001), port: 80, ttl: ttl)
            let registered = table.add(spec, now: now)
            byDeadline.append((registered.instance.deadline, registered.instance.id))
        }
        #expect(table.count == Self.bigCount)
        byDeadline.sort { $0.deadline < $1.deadline }

        var problems: [String] = []
        var swept = 0  // byDeadline[..<swept] have been swept
        /// Sweeps at `instant` and checks it ended exactly the leases with `deadline <= instant` not yet swept.
        func sweep(at instant: Instant) {
            var end = swept
            while end < byDeadline.count, byDeadline[end].deadline <= instant { end += 1 }
            let result = table.expire(now: instant)
            let expected = Set(byDeadline[swept..<end].map(\.id))
            if result.expired.count != expected.count || Set(result.expired.map(\.id)) != expected {
                problems.append("at \(instant): swept \(result.expired.count), expected \(expected.count)")
            }
            if table.count != byDeadline.count - end { problems.append("count \(table.count) at \(instant)") }
            swept = end
        }
        let stride = Self.bigCount / 1_000
        for position in Swift.stride(from: stride / 2, to: byDeadline.count, by: stride) where problems.count < 10 {
            let (deadline, id) = byDeadline[position]
            sweep(at: deadline.adding(nanoseconds: -1))
            if table.instance(id: id, now: deadline.adding(nanoseconds: -1)) == nil {
                problems.append("\(id) not live 1 ns before its deadline")
            }
            sweep(at: deadline)
            if table.instance(id: id, now: deadline) != nil { problems.append("\(id) live at its deadline") }
        }
        sweep(at: byDeadline.last!.deadline)
        #expect(problems == [])
        #expect(table.count == 0)
        #expect(table.nextSweep == nil)
        #expect(table.summary(now: now).isEmpty)
    }

    /// 20,000 leases swept in random steps while random live ones are renewed between sweeps: each
    /// sweep returns exactly the leases whose (possibly renewed) deadline fell in the step.
    @Test func sweepingInRandomStepsWithRenewalsEndsExactlyTheDueLeases() {
        var table = LeaseTable(limits: Self.limits)
        var random = SplitMix(seed: 99)
        var deadlines: [String: Instant] = [:]
        var ttls: [String: UInt32] = [:]
        var now = t0
        for index in 0..<Self.stepCount {
            let ttl = UInt32(1 + random.below(120))
            let id = "r\(index)"
            let instance = table.add(spec(id, function: "f\(index % 1_000)", ttl: ttl), now: now).instance
            deadlines[id] = instance.deadline
            ttls[id] = ttl
        }
        var problems: [String] = []
        var ids = Array(deadlines.keys).sorted()
        while !deadlines.isEmpty, problems.count < 10 {
            let previous = now
            now = now.adding(nanoseconds: Int64(random.below(3_000_000_000)))
            // Renew about one live lease in a hundred, at a time inside the step (so before `now`).
            let renewAt = previous.adding(nanoseconds: (now.nanoseconds - previous.nanoseconds) / 2)
            // Only during the first minute, so that the run ends.
            let renewals = now < t0.adding(seconds: 60) ? deadlines.count / 100 + 1 : 0
            for _ in 0..<renewals {
                let id = ids[Int(random.below(UInt64(ids.count)))]
                guard let deadline = deadlines[id] else { continue }
                let renewed = table.renew(id: id, now: renewAt)
                if renewAt < deadline {
                    if renewed == nil { problems.append("\(id) live but not renewed") }
                    deadlines[id] = max(deadline, renewAt.adding(seconds: Int64(ttls[id]!)))
                } else if renewed != nil {
                    problems.append("\(id) renewed after its deadline")
                }
            }
            let due = Set(deadlines.filter { $0.value <= now }.keys)
            let swept = table.expire(now: now)
            if Set(swept.expired.map(\.id)) != due || swept.expired.count != due.count {
                problems.append("step to \(now): swept \(swept.expired.count), due \(due.count)")
            }
            for instance in swept.expired where instance.deadline > now { problems.append("\(instance.id) early") }
            for id in due { deadlines[id] = nil }
            ids.removeAll { due.contains($0) }
            if table.count != deadlines.count { problems.append("count \(table.count), expected \(deadlines.count)") }
        }
        #expect(problems == [])
        #expect(table.count == 0)
    }
}

extension ManyLeasesTests {
    /// A fleet of instances of one function whose leases end together, as when a deploy stops them
    /// all: one sweep ends them all, reports the function once, and rebuilds its entry once (the
    /// table's index rises by one), not once per instance, which cost O(fleet²) under the lock that
    /// DNS readers wait on (10,000 instances: 8.6 s in a debug build, 0.06 s now).
    @Test func aFleetWhoseLeasesEndTogetherIsSweptInOnePass() throws {
        var table = LeaseTable(limits: Self.limits)
        for index in 0..<2_000 { table.add(spec("n\(index)", ttl: 30), now: t0) }
        table.add(spec("other", function: "delete", ttl: 30), now: t0.adding(seconds: 1))
        let before = table.lastIndex
        let swept = table.expire(now: t0.adding(seconds: 30))
        #expect(swept.expired.count == 2_000)
        #expect(swept.changed == [key("orders", "create")])
        #expect(table.ids("orders", "create").isEmpty)
        #expect(table.ids("orders", "delete") == ["other"])
        #expect(table.index("orders", "create") == before + 1)
        #expect(table.lastIndex == before + 1)
    }
}
