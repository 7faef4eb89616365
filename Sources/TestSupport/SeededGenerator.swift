import Primitives

/// A reproducible random number generator for fuzz loops and randomized tests.
///
/// xoshiro256** (Blackman and Vigna, https://prng.di.unimi.it/xoshiro256starstar.c) seeded through
/// SplitMix64, as its authors recommend. The same seed gives the same sequence on every platform and
/// toolchain. Draw bounded values with `next(below:)` and `next(in:)` rather than the standard
/// library's `random(in:using:)`, whose algorithm may change between Swift releases and would
/// silently reshuffle a seeded test.
package struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var s0: UInt64
    private var s1: UInt64
    private var s2: UInt64
    private var s3: UInt64

    package init(seed: UInt64) {
        var mixer = SplitMix64(seed: seed)
        s0 = mixer.next()
        s1 = mixer.next()
        s2 = mixer.next()
        s3 = mixer.next()
    }

    package mutating func next() -> UInt64 {
        let result = rotateLeft(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotateLeft(s3, 45)
        return result
    }

    /// A value in `0..<bound` (Lemire's multiply-shift; the bias is below 2^-32 for bounds under 2^32).
    package mutating func next(below bound: Int) -> Int {
        precondition(bound > 0, "bound must be positive")
        return Int(next().multipliedFullWidth(by: UInt64(bound)).high)
    }

    /// A value in `range`.
    package mutating func next(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + next(below: range.upperBound - range.lowerBound + 1)
    }

    /// True with probability `numerator / denominator`.
    package mutating func chance(_ numerator: Int, in denominator: Int) -> Bool {
        next(below: denominator) < numerator
    }

    /// A uniformly chosen element of a non-empty collection.
    package mutating func element<C: RandomAccessCollection>(of collection: C) -> C.Element {
        precondition(!collection.isEmpty, "cannot choose from an empty collection")
        return collection[collection.index(collection.startIndex, offsetBy: next(below: collection.count))]
    }

    /// `count` random bytes.
    package mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) }
    }
}


@inline(__always)
private func rotateLeft(_ value: UInt64, _ count: UInt64) -> UInt64 {
    (value << count) | (value >> (64 - count))
}
