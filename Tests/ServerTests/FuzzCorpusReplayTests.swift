import FuzzSupport
import TestSupport
import Authority
import DNSWire
import HTTPControl
import HTTPWire
import PosixIO
import Testing
import ZoneFile

/// Replays every committed fuzz corpus input through its entry point, so `swift test` re-checks in
/// seconds what the fuzzers found (STYLE 14d). Each entry point traps on a broken invariant.
@Suite("Fuzz corpus replay")
struct FuzzCorpusReplayTests {
    static func inputs(_ target: String) throws -> [[UInt8]] {
        let directory = RunningBeacon.repositoryRoot + "/Tests/Fuzz/Corpus/" + target
        return try Files.list(directory).map { try Files.read(directory + "/" + $0) }
    }

    /// The responder fuzzer's plain-zone fixture sends registration names down the fast path, where
    /// the wildcard zone's fixture must decline them: so its rendering is held to the reference too.
    @Test func theResponderFuzzerReachesTheFastPathsRegistrationRendering() throws {
        let names = ["create.orders.local.", "_list._tcp.orders.local.", "big.orders.local.", "create1.create.orders.local.",
            "d1.refund.pay.local.", "refund.pay.local."]
        for name in names {
            for type in [RRType.a, .aaaa, .srv, .txt] {
                let answered = fuzzResponderFastAnswers(DNSQuery(name, type).bytes)
                #expect(!answered[0], "the wildcard zone's fast path declined \(name) \(type)")
                // Every size, the 40- and 64-instance functions too (they do not fit 512 bytes: TC).
                if type != .txt || name.hasPrefix("create1") || name.hasPrefix("d1") {
                    #expect(answered[1], "the plain zone's fast path answered \(name) \(type)")
                }
            }
        }
    }

    @Test(arguments: ["FuzzMessage", "FuzzResponder", "FuzzZoneFile", "FuzzHTTPRequest", "FuzzRegistrationBody"])
    func everyCorpusInputPassesItsEntryPoint(target: String) throws {
        let inputs = try Self.inputs(target)
        #expect(inputs.count >= 3, "corpus for \(target) is missing")
        for input in inputs {
            switch target {
            case "FuzzMessage": fuzzMessage(input)
            case "FuzzResponder": fuzzResponder(input)
            case "FuzzZoneFile": fuzzZoneFile(input)
            case "FuzzHTTPRequest": fuzzHTTPRequest(input)
            default: fuzzRegistrationBody(input)
            }
        }
    }
}
