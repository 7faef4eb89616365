import HTTPWire
import Testing

@Suite struct WaitDurationTests {
    static let accepted: [(String, Int)] = [
        ("500ms", 500), ("30s", 30_000), ("5m", 300_000), ("30", 30_000), ("0", 0), ("0ms", 0), ("10m", 600_000),
        ("600", 600_000), ("007s", 7000), ("1ms", 1),
    ]

    @Test(arguments: accepted)
    func contractDurationsBecomeMilliseconds(text: String, milliseconds: Int) {
        #expect(parseWaitMilliseconds(text) == milliseconds)
    }

    static let rejected = [
        "", "s", "ms", "m", "1.5s", "-1s", "+1s", "1h", "1 s", " 1s", "1s ", "1S", "1Ms", "1sm", "1mm", "5mss", "1e3",
        "abc", "1_000", "9999999999999999s",
    ]

    @Test(arguments: rejected)
    func otherSpellingsAreRejected(text: String) {
        #expect(parseWaitMilliseconds(text) == nil)
    }

    @Test func substringsAreAccepted() {
        let query = "index=5&wait=45s"
        #expect(parseWaitMilliseconds(query.split(separator: "=").last!) == 45_000)
    }
}
