// Placeholder until the parser lands: the shape the rest of the code uses.
import DNSWire

package struct ZoneData: Sendable, Equatable {
    package var origin: DomainName
    package var records: [ResourceRecord]
    package var soa: ResourceRecord
    package init(origin: DomainName, records: [ResourceRecord], soa: ResourceRecord) {
        self.origin = origin
        self.records = records
        self.soa = soa
    }
}
