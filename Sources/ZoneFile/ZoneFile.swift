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

package struct ZoneFileError: Error, CustomStringConvertible {
    package var description: String
}

package enum ZoneFileParser {
    package static func parse(
        _ text: [UInt8], fileName: String, defaultOrigin: DomainName?, loadInclude: (String) throws -> [UInt8]
    ) throws(ZoneFileError) -> ZoneData {
        throw ZoneFileError(description: "\(fileName): parser not merged yet")
    }
}
