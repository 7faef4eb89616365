import Primitives
import Leases
import TestSupport
import Testing

/// CONTRACT "DNS names": a dynamic RRset's TTL is the whole seconds until the earliest lease ends,
/// minus one, capped by --max-ttl, never below 0; drain is send time plus TTL plus one second.
@Suite struct TTLPolicyTests {
    struct TTLCase: Sendable, CustomStringConvertible {
        var remainingNanoseconds: Int64
        var maxTTL: UInt32
        var expected: UInt32
        var description: String { "\(Double(remainingNanoseconds) / 1e9)s left, max \(maxTTL) → \(expected)" }
    }

    static let second: Int64 = 1_000_000_000
    static let ttlCases: [TTLCase] = [
        TTLCase(remainingNanoseconds: 31_500_000_000, maxTTL: 30, expected: 30),
        TTLCase(remainingNanoseconds: 31 * second, maxTTL: 30, expected: 30),
        TTLCase(remainingNanoseconds: 31 * second - 1, maxTTL: 30, expected: 29),
        TTLCase(remainingNanoseconds: 30 * second, maxTTL: 30, expected: 29),
        TTLCase(remainingNanoseconds: 30 * second + 999_999_999, maxTTL: 30, expected: 29),
        TTLCase(remainingNanoseconds: 2 * second + 500_000_000, maxTTL: 30, expected: 1),
        TTLCase(remainingNanoseconds: 2 * second, maxTTL: 30, expected: 1),
        TTLCase(remainingNanoseconds: 2 * second - 1, maxTTL: 30, expected: 0),
        TTLCase(remainingNanoseconds: 1_999_000_000, maxTTL: 30, expected: 0),
        TTLCase(remainingNanoseconds: 1, maxTTL: 30, expected: 0),
        TTLCase(remainingNanoseconds: 0, maxTTL: 30, expected: 0),
        TTLCase(remainingNanoseconds: -5 * second, maxTTL: 30, expected: 0),
        TTLCase(remainingNanoseconds: Int64.min / 2, maxTTL: 30, expected: 0),
        TTLCase(remainingNanoseconds: 3_600 * second, maxTTL: 30, expected: 30),
        TTLCase(remainingNanoseconds: 3_600 * second, maxTTL: 300, expected: 300),
        TTLCase(remainingNanoseconds: 86_400 * second, maxTTL: UInt32.max, expected: 86_399),
        TTLCase(remainingNanoseconds: 10 * second, maxTTL: 0, expected: 0),
        TTLCase(remainingNanoseconds: 10 * second, maxTTL: 5, expected: 5),
        TTLCase(remainingNanoseconds: 6 * second, maxTTL: 5, expected: 5),
        TTLCase(remainingNanoseconds: 6 * second - 1, maxTTL: 5, expected: 4),
    ]

    @Test(arguments: ttlCases)
    func answerTTLIsWholeSecondsLeftMinusOneCappedAndNeverNegative(_ row: TTLCase) {
        let now = Instant.at(5_000.25)
        let ttl = TTLPolicy.answerTTL(
            earliestDeadline: now.adding(nanoseconds: row.remainingNanoseconds), now: now, maxTTL: row.maxTTL)
        #expect(ttl == row.expected)
    }

    /// Whatever `now`, a cache that keeps the record TTL seconds plus its last whole second never
    /// serves it at or past the deadline.
    @Test func noCacheHonouringTheAnswerTTLOutlivesTheLease() {
        var random = SplitMix(seed: 7)
        for _ in 0..<10_000 {
            let now = Instant(nanoseconds: Int64(random.below(1 << 50)))
            let deadline = now.adding(nanoseconds: Int64(random.below(40 * 1_000_000_000)))
            let ttl = TTLPolicy.answerTTL(earliestDeadline: deadline, now: now, maxTTL: 30)
            #expect(TTLPolicy.exposure(now: now, ttl: ttl) <= deadline || ttl == 0)
            if ttl == 0 { continue }
            #expect(ttl <= 30)
        }
    }

    @Test func exposureIsSendTimePlusTTLPlusOneSecond() {
        let now = Instant.at(100.125)
        #expect(TTLPolicy.exposure(now: now, ttl: 29) == Instant.at(130.125))
        #expect(TTLPolicy.exposure(now: now, ttl: 0) == Instant.at(101.125))
    }

    @Test func drainIsSecondsUntilTheExposureEndsAndZeroOnceItHas() {
        let instance = Instance(spec: spec("a"), deadline: t0.adding(seconds: 30), registeredAt: t0)
        #expect(instance.drainSeconds(now: t0) == 0, "no answer went out")
        instance.noteExposure(until: t0.adding(milliseconds: 12_500))
        instance.noteExposure(until: t0.adding(seconds: 3))  // an earlier bound never lowers it
        #expect(instance.exposedUntil == t0.adding(milliseconds: 12_500))
        #expect(instance.drainSeconds(now: t0) == 12.5)
        #expect(instance.drainSeconds(now: t0.adding(seconds: 20)) == 0)
    }

    @Test(arguments: [UInt32(1), 2, 3, 10, 30, 31, 600, 86_400])
    func nextHeartbeatStaysWithinTenPercentOfAThirdOfTheTTL(_ ttl: UInt32) {
        let third = Double(ttl) / 3
        let lowest = third * 0.9 - 0.0005  // rounded to the millisecond
        let highest = third * 1.1 + 0.0005
        var seen = Set<Double>()
        for step in 0...100 {
            let advice = TTLPolicy.nextHeartbeat(ttl: ttl, jitter: Double(step) / 100)
            #expect(advice >= lowest && advice <= highest, "jitter \(Double(step) / 100): \(advice)")
            seen.insert(advice)
        }
        for jitter in [-3.0, -0.0001, 1.0001, 50, .infinity, -.infinity] {
            let advice = TTLPolicy.nextHeartbeat(ttl: ttl, jitter: jitter)
            #expect(advice >= lowest && advice <= highest, "jitter \(jitter): \(advice)")
        }
        #expect(abs(TTLPolicy.nextHeartbeat(ttl: ttl, jitter: 0.5) - third) <= 0.0005)
        #expect(seen.count > 10, "jitter spreads the advice")
    }
}
