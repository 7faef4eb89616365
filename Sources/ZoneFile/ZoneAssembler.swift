import DNSWire

/// Checks records as they arrive against the one-zone-per-file rules and collects the zone.
///
/// - The first record is the SOA and its owner is the apex; a second SOA is an error.
/// - Every owner is at or below the apex ("out-of-zone data" otherwise, as BIND says).
/// - RFC 1034 §3.6.2: "If a CNAME RR is present at a node, no other data should be present"; RRSIG
///   and NSEC are the exceptions RFC 4035 §2.5 allows. Two different CNAMEs at one owner are an error too.
/// - A record equal to an earlier one in owner, type and RDATA is dropped; the first one's TTL stays.
struct ZoneAssembler {
    private var soa: ResourceRecord?
    private var records: [ResourceRecord] = []
    private var seen: Set<RecordKey> = []
    private var ownerData: [DomainName: OwnerData] = [:]

    /// Owner, type and RDATA: what makes two records the same record.
    private struct RecordKey: Hashable {
        var name: DomainName
        var type: RRType
        var rdata: RData
    }

    /// What sits at one owner, for the CNAME rule.
    private struct OwnerData: OptionSet {
        var rawValue: UInt8
        static let cname = OwnerData(rawValue: 1)
        static let other = OwnerData(rawValue: 2)
    }

    /// - Parameter expectedRecords: a guess at the record count, to size the tables once.
    init(expectedRecords: Int = 0) {
        let capacity = max(0, min(expectedRecords, 1 << 22))
        records.reserveCapacity(capacity)
        seen.reserveCapacity(capacity)
        ownerData.reserveCapacity(capacity)
    }

    /// RFC 4035 §2.5: RRSIG (46) and NSEC (47) may sit beside a CNAME.
    private static func mayAccompanyCNAME(_ type: RRType) -> Bool { type.rawValue == 46 || type.rawValue == 47 }

    mutating func add(_ located: LocatedRecord) throws(ZoneFileError) {
        let record = located.record
        guard let soa else {
            guard record.type == .soa else {
                throw ZoneFileError(.firstRecordNotSOA, at: located.typeLocation, token: record.type.description)
            }
            self.soa = record
            append(record)
            return
        }
        guard record.type != .soa else { throw ZoneFileError(.secondSOA, at: located.typeLocation) }
        guard record.name.isSubdomain(of: soa.name) else {
            throw ZoneFileError(.outOfZone, at: located.ownerLocation, token: record.name.description)
        }
        guard seen.insert(RecordKey(name: record.name, type: record.type, rdata: record.rdata)).inserted else { return }
        let present = ownerData[record.name] ?? []
        if record.type == .cname {
            guard present.isEmpty else {
                throw ZoneFileError(.cnameAndOtherData, at: located.typeLocation, token: record.name.description)
            }
            ownerData[record.name] = .cname
        } else if !Self.mayAccompanyCNAME(record.type) {
            guard !present.contains(.cname) else {
                throw ZoneFileError(.cnameAndOtherData, at: located.typeLocation, token: record.name.description)
            }
            if present.isEmpty { ownerData[record.name] = .other }
        }
        records.append(record)
    }

    private mutating func append(_ record: ResourceRecord) {
        seen.insert(RecordKey(name: record.name, type: record.type, rdata: record.rdata))
        ownerData[record.name] = .other
        records.append(record)
    }

    /// The zone, once every record has been added.
    ///
    /// - Parameter end: where the input ended, to locate `noSOA`.
    func zone(end: SourceLocation) throws(ZoneFileError) -> ZoneData {
        guard let soa else { throw ZoneFileError(.noSOA, at: end) }
        return ZoneData(origin: soa.name, records: records, soa: soa)
    }
}
