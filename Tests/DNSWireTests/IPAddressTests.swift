import Primitives
import DNSWire
import Testing

@Suite("IP address text: RFC 5952 for IPv6, strict dotted quads for IPv4")
struct IPAddressTests {
    /// (input, RFC 5952 output).
    static let ipv6Cases: [(input: String, printed: String)] = [
        ("2001:db8::1", "2001:db8::1"),
        ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),  // §4.1: no leading zeros
        ("::", "::"),
        ("::1", "::1"),
        ("1::", "1::"),
        ("2001:DB8::A", "2001:db8::a"),  // §4.3: lower case
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),  // §4.2.2: one zero group is not shortened
        ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),  // §4.2.3: the longest run
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),  // §4.2.3: ties go to the first run
        ("1:0:0:2:3:0:0:4", "1::2:3:0:0:4"),
        ("fe80::1:2:3:4", "fe80::1:2:3:4"),
        ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"),
        ("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"),
        ("::ffff:1.2.3.4", "::ffff:1.2.3.4"),  // §5: IPv4-mapped keeps the dotted quad
        ("::ffff:0102:0304", "::ffff:1.2.3.4"),
        ("1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"),
        ("64:ff9b::192.0.2.33", "64:ff9b::c000:221"),
    ]

    @Test(arguments: 0..<ipv6Cases.count)
    func rfc5952IPv6TextIsCanonical(index: Int) throws {
        let (input, printed) = Self.ipv6Cases[index]
        let address = try #require(IPv6Address(input), "\(input) parses")
        #expect(address.description == printed, "\(input)")
        #expect(IPv6Address(printed) == address, "the canonical form parses back")
    }

    @Test func ipv4MappedAddressParsesToTheRightGroups() throws {
        let address = try #require(IPv6Address("::ffff:1.2.3.4"))
        #expect(address.groups == [0, 0, 0, 0, 0, 0xFFFF, 0x0102, 0x0304])
        #expect(address.isIPv4Mapped)
        #expect(address.bytes == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 1, 2, 3, 4])
        #expect(!IPv6Address("::1")!.isIPv4Mapped)
        #expect(IPv6Address("::1")!.isLoopback)
    }

    @Test(
        arguments: [
            "", ":", ":::", "1::2::3", "::1::", "12345::", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "::g",
            "+1::", "::-0", "::+ff", "1.2.3.4", "::1.2.3", "::1.2.3.4:5", "1.2.3.4::", ":1::", "1::2:",
            " ::1", "::1 ", "1:2:3:4:5:6:7:1.2.3.4", "::256.1.1.1", "fe80::1%eth0",
        ])
    func malformedIPv6TextIsRejected(text: String) {
        #expect(IPv6Address(text) == nil, "\(text)")
    }

    @Test(arguments: [
        ("0.0.0.0", UInt32(0)), ("255.255.255.255", 0xFFFF_FFFF), ("192.0.2.1", 0xC000_0201),
        ("10.0.0.10", 0x0A00_000A),
    ])
    func ipv4DottedQuadParsesAndPrints(text: String, value: UInt32) throws {
        let address = try #require(IPv4Address(text))
        #expect(address.value == value)
        #expect(address.description == text)
    }

    @Test(
        arguments: [
            "01.2.3.4", "1.02.3.4", "00.0.0.0", "256.1.1.1", "1.2.3.300", "1.2.3", "1.2.3.4.5", "1..3.4", "",
            "+1.2.3.4", "1.2.3.-4", "1.2.3.4 ", " 1.2.3.4", "0x1.2.3.4", "1.2.3.4.", "١.2.3.4", "1234.1.1.1",
        ])
    func malformedIPv4TextIsRejected(text: String) {
        #expect(IPv4Address(text) == nil, "\(text)")
    }

    @Test func ipAddressChoosesTheFamilyAndRecordType() {
        #expect(IPAddress("192.0.2.1")?.rrType == .a)
        #expect(IPAddress("2001:db8::1")?.rrType == .aaaa)
        #expect(IPAddress("192.0.2.1")?.description == "192.0.2.1")
        #expect(IPAddress("not an address") == nil)
    }
}
