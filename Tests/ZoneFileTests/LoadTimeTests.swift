import DNSWire
import Foundation
import Testing
import ZoneFile

/// Large generated zones. The timed run is opt-in (`ZONEFILE_BENCH=1`), best in a release build:
/// `ZONEFILE_BENCH=1 swift test -c release --filter LoadTimeTests`.
@Suite struct LoadTimeTests {
    /// `count` simple records after an SOA: A records with a few AAAA, TXT and SRV among them.
    static func generatedZone(records count: Int) -> [UInt8] {
        var text = "$ORIGIN bench.\n$TTL 300\n@ SOA ns hostmaster 1 3600 600 86400 5\n"
        text.reserveCapacity(count * 32)
        for index in 0..<count {
            switch index % 10 {
            case 7: text += "h\(index) IN AAAA 2001:db8::\(String(index % 65536, radix: 16))\n"
            case 8: text += "h\(index) 60 TXT \"record \(index)\"\n"
            case 9: text += "_s\(index)._tcp SRV 0 1 \(index % 65535 + 1) h\(index - 1)\n"
            default: text += "h\(index) IN A 10.\(index >> 16 & 255).\(index >> 8 & 255).\(index & 255)\n"
            }
        }
        return Array(text.utf8)
    }

    @Test func tenThousandGeneratedRecordsAllLoad() throws {
        let zone = try ZoneFileParser.parse(
            Self.generatedZone(records: 10_000), fileName: "bench.zone", defaultOrigin: nil,
            loadInclude: { throw LoaderError(path: $0) })
        #expect(zone.records.count == 10_001)
        #expect(zone.records.last?.type == .srv)
    }

    @Test(.enabled(if: ProcessInfo.processInfo.environment["ZONEFILE_BENCH"] != nil))
    func hundredThousandRecordsLoadTime() throws {
        let bytes = Self.generatedZone(records: 100_000)
        var best = Duration.seconds(1000)
        for _ in 0..<5 {
            let start = ContinuousClock.now
            let zone = try ZoneFileParser.parse(
                bytes, fileName: "bench.zone", defaultOrigin: nil, loadInclude: { throw LoaderError(path: $0) })
            best = min(best, ContinuousClock.now - start)
            #expect(zone.records.count == 100_001)
        }
        print("ZoneFile: 100,000 records (\(bytes.count) bytes) parsed in \(best) (best of 5)")
    }
}
