import Primitives
import DNSWire
import Foundation
import Testing
import ZoneFile

/// A seeded mutation loop over the fixtures: whatever the bytes, parsing returns a zone or throws a
/// located `ZoneFileError`; it never traps. A crash found here becomes a named test with the bytes inline.
@Suite struct MutationTests {
    /// Bytes that mean something to the lexer or to RDATA, favoured by insertions.
    static let interesting: [UInt8] = Array("()\";\\$@*. \t\r\n0123456789#:".utf8) + [0, 0xFF, 0xEF]

    /// Each seed file with the origin the server would give it.
    static func corpus() throws -> [(bytes: [UInt8], origin: DomainName)] {
        let fixtures = testsDirectory.appendingPathComponent(".Fixtures")
        return [
            (try readBytes(fixtures.appendingPathComponent("edge.zone")), name("edge.")),
            (try readBytes(fixtures.appendingPathComponent("include.zone")), name("include.")),
            (try readBytes(repositoryRoot.appendingPathComponent("zones/local.zone")), name("local.")),
            (
                Array((zoneHead + "x TYPE1 \\# 4 7f000001\n_s._tcp SRV 1 2 3 t\nt TXT \"a\\255\" b\n").utf8),
                name("example.")
            ),
        ]
    }

    static func mutate(_ input: [UInt8], using random: inout SeededGenerator) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...3, using: &random) {
            let position = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &random)
            switch Int.random(in: 0..<6, using: &random) {
            case 0 where !bytes.isEmpty:
                bytes[position] = UInt8.random(in: 0...255, using: &random)
            case 1:
                bytes.insert(interesting.randomElement(using: &random) ?? 0, at: position)
            case 2 where !bytes.isEmpty:
                bytes.removeSubrange(position..<min(bytes.count, position + Int.random(in: 1...16, using: &random)))
            case 3 where !bytes.isEmpty:
                let end = min(bytes.count, position + Int.random(in: 1...40, using: &random))
                bytes.insert(contentsOf: bytes[position..<end], at: position)
            case 4:
                bytes.removeSubrange(position..<bytes.count)
            default:
                bytes.insert(contentsOf: Array(" \\# 4 ".utf8), at: position)
            }
        }
        return bytes
    }

    @Test func mutatedFixturesNeverTrap() throws {
        let corpus = try Self.corpus()
        let include = try readBytes(testsDirectory.appendingPathComponent(".Fixtures/include-hosts.inc"))
        var random = SeededGenerator(seed: 0x5EED_2024)
        var parsed = 0
        var rejected = 0
        for round in 0..<4000 {
            let (seed, origin) = corpus[round % corpus.count]
            let input = Self.mutate(seed, using: &random)
            do {
                let zone = try ZoneFileParser.parse(
                    input, fileName: "m.zone", defaultOrigin: origin,
                    loadInclude: { path in path.hasPrefix("include") ? include : input })
                #expect(zone.records.first == zone.soa)
                #expect(zone.records.allSatisfy { $0.name.isSubdomain(of: zone.origin) })
                parsed += 1
            } catch {
                #expect(error.location.line >= 1 && error.location.column >= 1)
                #expect(!error.description.isEmpty)
                rejected += 1
            }
        }
        // Both outcomes happen, so the loop exercises more than the first line of the lexer.
        #expect(parsed > 100)
        #expect(rejected > 100)
    }
}
