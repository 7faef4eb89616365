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
