import FuzzSupport
import Primitives
import DNSWire
import TestSupport
import Testing

/// Mutations in the spirit of libFuzzer's, plus DNS-aware ones (pointers, counts, lengths).
struct MessageMutator {
    var random: SeededGenerator
    let seeds: [[UInt8]]

    /// Octets that mean something to a DNS decoder: label limits, pointer and reserved label types.
    private static let interesting: [UInt8] = [0x00, 0x01, 0x3F, 0x40, 0x7F, 0x80, 0xBF, 0xC0, 0xFF]

    mutating func next() -> [UInt8] {
        var bytes = random.element(of: seeds)
        for _ in 0..<random.next(in: 1...3) { mutate(&bytes) }
        return bytes
    }

    private mutating func mutate(_ bytes: inout [UInt8]) {
        let count = bytes.count
        switch random.next(below: 11) {
        case 0 where count > 0:  // flip one bit
            bytes[random.next(below: count)] ^= 1 << UInt8(random.next(below: 8))
        case 1 where count > 0:  // overwrite one octet with a meaningful value
            bytes[random.next(below: count)] = random.element(of: Self.interesting)
        case 2:  // insert a few random octets
            bytes.insert(contentsOf: random.bytes(random.next(in: 1...8)), at: random.next(in: 0...count))
        case 3 where count > 0:  // delete a range
            let start = random.next(below: count)
            bytes.removeSubrange(start..<min(count, start + random.next(in: 1...16)))
        case 4:  // truncate
            bytes.removeLast(random.next(in: 0...count))
        case 5 where count >= 2:  // plant a compression pointer: backward, to itself, forward or out of range
            let position = random.next(below: count - 1)
            let target: Int
            switch random.next(below: 4) {
            case 0: target = random.next(in: 0...position)
            case 1: target = position
            case 2: target = random.next(in: position...count + 16)
            default: target = random.next(below: 0x4000)
            }
            bytes[position] = 0xC0 | UInt8((target >> 8) & 0x3F)
            bytes[position + 1] = UInt8(target & 0xFF)
        case 6 where count >= 12:  // rewrite a section count
            let field = 4 + 2 * random.next(below: 4)
            let value = random.element(of: [0, 1, 2, 3, 0x7F, 0xFFFF, random.next(below: 0x10000)])
            bytes[field] = UInt8(value >> 8)
            bytes[field + 1] = UInt8(value & 0xFF)
        case 7 where count >= 2:  // nudge a 16-bit field (RDLENGTH, TYPE, a pointer) by a little
            let position = random.next(below: count - 1)
            let value = (Int(bytes[position]) << 8 | Int(bytes[position + 1])) + random.next(in: -3...3)
            bytes[position] = UInt8((value >> 8) & 0xFF)
            bytes[position + 1] = UInt8(value & 0xFF)
        case 8 where count > 0:  // copy a slice elsewhere (duplicates names and records)
            let start = random.next(below: count)
            let slice = Array(bytes[start..<min(count, start + random.next(in: 1...32))])
            bytes.insert(contentsOf: slice, at: random.next(in: 0...count))
        case 9:  // splice: this message's head with another's tail
            let other = random.element(of: seeds)
            bytes = Array(bytes.prefix(random.next(in: 0...count))) + other.suffix(random.next(in: 0...other.count))
        default:  // overwrite one octet with anything
            if count > 0 { bytes[random.next(below: count)] = UInt8(truncatingIfNeeded: random.next()) }
        }
    }
}

@Suite("Seeded mutation fuzzing: decoding never traps and decoded messages round-trip")
struct MutationFuzzTests {
    static let seed: UInt64 = 0x00BE_AC04_D45F_2024
    static let iterations = 50_000

    @Test func fiftyThousandMutantsNeverBreakTheRoundTrip() {
        // Seeds up to 2 KB keep the loop to a few seconds in debug; the replay tests cover the rest.
        let seeds = Corpus.committed.map(\.bytes).filter { !$0.isEmpty && $0.count <= 2048 }
        #expect(seeds.count > 150)
        var mutator = MessageMutator(random: SeededGenerator(seed: Self.seed), seeds: seeds)
        var fixedPoints = 0
        var rejected = 0
        for iteration in 0..<Self.iterations {
            let input = mutator.next()
            switch roundTripOutcome(input) {
            case .fixedPoint, .tooLongToReencode: fixedPoints += 1
            case .rejected: rejected += 1
            case .broken(let reason):
                Issue.record("iteration \(iteration) (seed \(Self.seed)): \(reason); input \(hexString(input))")
                return
            }
        }
        print(
            "mutation fuzz: \(Self.iterations) inputs, \(fixedPoints) decoded and round-tripped,"
                + " \(rejected) rejected")
        // Both paths must be exercised, or the mutator has degenerated into testing nothing.
        #expect(fixedPoints > Self.iterations / 10)
        #expect(rejected > Self.iterations / 10)
    }

    @Test func mutatorIsReproducibleFromItsSeed() {
        let seeds = [GoldenVectors.all[3].bytes, GoldenVectors.all[7].bytes]
        var first = MessageMutator(random: SeededGenerator(seed: 7), seeds: seeds)
        var second = MessageMutator(random: SeededGenerator(seed: 7), seeds: seeds)
        let a = (0..<100).map { _ in first.next() }
        let b = (0..<100).map { _ in second.next() }
        #expect(a == b)
        #expect(Set(a).count > 90, "mutants differ from one another")
    }
}
