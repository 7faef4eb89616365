import DNSWire
import Leases

/// One RRset to put in a response, kept whole so truncation never splits it.
package struct AnswerRRSet: Equatable {
    package var name: DomainName
    package var type: RRType
    package var ttl: UInt32
    package var rdatas: [RData]
    /// The registered instances this set holds, whose exposure the sender records once it is sent.
    package var instances: [Instance]

    package init(name: DomainName, type: RRType, ttl: UInt32, rdatas: [RData], instances: [Instance] = []) {
        self.name = name
        self.type = type
        self.ttl = ttl
        self.rdatas = rdatas
        self.instances = instances
    }

    package init(record: ResourceRecord) {
        self.init(name: record.name, type: record.type, ttl: record.ttl, rdatas: [record.rdata])
    }

    package var records: [ResourceRecord] {
        rdatas.map { ResourceRecord(name: name, type: type, ttl: ttl, rdata: $0) }
    }

    package static func == (lhs: AnswerRRSet, rhs: AnswerRRSet) -> Bool {
        lhs.name == rhs.name && lhs.type == rhs.type && lhs.ttl == rhs.ttl && lhs.rdatas == rhs.rdatas
            && lhs.instances.map(ObjectIdentifier.init) == rhs.instances.map(ObjectIdentifier.init)
    }
}

/// The outcome of a lookup: what kind of answer, then the RRsets of each section.
package struct Resolution: Equatable {
    package enum Outcome: Equatable {
        /// Data for the name and type (possibly through CNAMEs).
        case answer
        /// The name exists, with no data of the type (RFC 2308 NODATA).
        case noData
        /// The name does not exist (RFC 2308 NXDOMAIN).
        case nxDomain
        /// The name lies below a delegation: a referral, not authoritative.
        case delegation
        /// Not in any served zone.
        case refused
    }

    package var outcome: Outcome
    package var answers: [AnswerRRSet] = []
    package var authorities: [AnswerRRSet] = []
    package var additionals: [AnswerRRSet] = []

    package init(outcome: Outcome) { self.outcome = outcome }

    package var rcode: RCode {
        switch outcome {
        case .answer, .noData, .delegation: .noError
        case .nxDomain: .nxDomain
        case .refused: .refused
        }
    }

    package var authoritative: Bool {
        switch outcome {
        case .answer, .noData, .nxDomain: true
        case .delegation, .refused: false
        }
    }
}
