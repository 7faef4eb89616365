/// The EDNS(0) OPT pseudo-record, read as fields (RFC 6891 §6.1).
package struct EDNS: Equatable, Sendable {
    /// The default of `--udp-max-payload`, the largest UDP reply Beacon sends and the size its OPT
    /// advertises: RFC 9715 / DNS Flag Day 2020 recommend 1232.
    package static let defaultUDPMaxPayload: UInt16 = 1232
    /// RFC 6891 §6.2.5: "Values lower than 512 MUST be treated as equal to 512."
    package static let minimumPayloadSize: UInt16 = 512
    /// The largest UDP payload IPv4 can carry (65535 minus the 20-byte IP and 8-byte UDP headers): a
    /// longer datagram cannot be sent at all, so even with `--udp-max-payload 65535` a reply past it
    /// is truncated (TC) and the client retries over TCP.
    package static let largestUDPDatagram = 65_507

    package var udpPayloadSize: UInt16
    /// The upper eight bits of the 12-bit extended RCODE.
    package var extendedRCodeHigh: UInt8
    package var version: UInt8
    /// The 16 flag bits; the top one is DO (RFC 3225).
    package var flags: UInt16
    package var options: [EDNSOption]

    package init(
        udpPayloadSize: UInt16 = EDNS.defaultUDPMaxPayload, extendedRCodeHigh: UInt8 = 0, version: UInt8 = 0,
        flags: UInt16 = 0, options: [EDNSOption] = []
    ) {
        self.udpPayloadSize = udpPayloadSize
        self.extendedRCodeHigh = extendedRCodeHigh
        self.version = version
        self.flags = flags
        self.options = options
    }

    package init?(record: ResourceRecord) {
        guard record.type == .opt else { return nil }
        udpPayloadSize = record.rrClass.rawValue
        extendedRCodeHigh = UInt8(record.ttl >> 24)
        version = UInt8(truncatingIfNeeded: record.ttl >> 16)
        flags = UInt16(truncatingIfNeeded: record.ttl)
        if case .opt(let options) = record.rdata { self.options = options } else { self.options = [] }
    }

    package var dnssecOK: Bool { flags & 0x8000 != 0 }

    package var record: ResourceRecord {
        ResourceRecord(
            name: .root, type: .opt, rrClass: RRClass(udpPayloadSize),
            ttl: UInt32(extendedRCodeHigh) << 24 | UInt32(version) << 16 | UInt32(flags), rdata: .opt(options))
    }
}
