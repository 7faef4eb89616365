// DNSServer: the DNS transports. UDP threads with batched receive and send, TCP connections on an
// event loop, both answering through one `DNSEngine`. Everything that decides an answer lives in
// Authority; this module moves bytes and counts them.
import Authority
import Primitives
import Synchronization

/// Query and response totals for `/metrics`, updated with relaxed atomics on the packet path.
package final class DNSCounters: Sendable {
    /// Query types counted by name; the rest fall under "other".
    package static let countedTypes: [(UInt16, String)] = [
        (1, "A"), (28, "AAAA"), (33, "SRV"), (16, "TXT"), (6, "SOA"), (2, "NS"), (5, "CNAME"), (12, "PTR"),
        (15, "MX"), (255, "ANY"),
    ]
    package static let rcodeNames = [
        "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET",
        "NOTAUTH", "NOTZONE", "RCODE11", "RCODE12", "RCODE13", "RCODE14", "RCODE15",
    ]

    private let byType: InlineArray<11, Atomic<UInt64>>
    private let byRCode: InlineArray<16, Atomic<UInt64>>
    /// Responses by transport (UDP first) and RCODE.
    private let byTransportAndRCode: InlineArray<32, Atomic<UInt64>>
    package let udpResponseSizes = Histogram(bounds: Histogram.responseSizeBounds)
    package let tcpResponseSizes = Histogram(bounds: Histogram.responseSizeBounds)
    package let dropped = Atomic<UInt64>(0)
    package let truncated = Atomic<UInt64>(0)
    package let tcpQueries = Atomic<UInt64>(0)
    package let udpQueries = Atomic<UInt64>(0)
    package let forwarded = Atomic<UInt64>(0)
    package let rateLimited = Atomic<UInt64>(0)
    package let tcpConnectionsRejected = Atomic<UInt64>(0)
    package let tcpConnectionsTimedOut = Atomic<UInt64>(0)
    /// Closed at the connection cap to make room for a new one (the least recently active).
    package let tcpConnectionsEvicted = Atomic<UInt64>(0)

    package init() {
        precondition(Self.countedTypes.count + 1 == 11)
        byType = InlineArray { _ in Atomic<UInt64>(0) }
        byRCode = InlineArray { _ in Atomic<UInt64>(0) }
        byTransportAndRCode = InlineArray { _ in Atomic<UInt64>(0) }
    }

    /// A response sent: its transport, RCODE and size.
    @inline(__always)
    package func countResponse(transport: Responder.Transport, rcode: UInt8, size: Int) {
        let tcp = transport == .tcp
        byTransportAndRCode[(tcp ? 16 : 0) + Int(rcode & 0xF)].add(1, ordering: .relaxed)
        (tcp ? tcpResponseSizes : udpResponseSizes).record(Int64(size))
    }

    /// (transport, RCODE name, count) for the RCODEs that occurred.
    package var responsesByTransportAndRCode: [(String, String, UInt64)] {
        var result: [(String, String, UInt64)] = []
        for (offset, transport) in [(0, "udp"), (16, "tcp")] {
            for (index, name) in Self.rcodeNames.enumerated() {
                let count = byTransportAndRCode[offset + index].load(ordering: .relaxed)
                if count > 0 { result.append((transport, name, count)) }
            }
        }
        return result
    }

    @inline(__always)
    package func count(type: UInt16, rcode: UInt8) {
        var slot = Self.countedTypes.count
        for index in 0..<Self.countedTypes.count where Self.countedTypes[index].0 == type {
            slot = index
            break
        }
        byType[slot].add(1, ordering: .relaxed)
        byRCode[Int(rcode & 0xF)].add(1, ordering: .relaxed)
    }

    /// (type name, count) pairs, "other" last.
    package var queriesByType: [(String, UInt64)] {
        Self.countedTypes.enumerated().map { ($1.1, byType[$0].load(ordering: .relaxed)) }
            + [("other", byType[Self.countedTypes.count].load(ordering: .relaxed))]
    }

    package var responsesByRCode: [(String, UInt64)] {
        Self.rcodeNames.enumerated().map { ($1, byRCode[$0].load(ordering: .relaxed)) }
    }

}
