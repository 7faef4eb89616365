import DNSWire
import ZoneFile
/// Fuzz entry point: parses `bytes` as a zone file (with one level of `$INCLUDE` served from the
/// same bytes) and checks that whatever parses holds only in-zone data with the SOA first.
package func fuzzZoneFile(_ bytes: [UInt8]) {
    let origin = try? DomainName("fuzz.test.")
    guard let zone = try? ZoneFileParser.parse(bytes, fileName: "fuzz.zone", defaultOrigin: origin, loadInclude: { _ in bytes })
    else { return }
    precondition(zone.records.first == zone.soa, "the SOA comes first")
    for record in zone.records { precondition(record.name.isSubdomain(of: zone.origin), "out-of-zone data accepted") }
}
