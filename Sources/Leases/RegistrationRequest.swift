import Primitives
/// A registration as a client sent it, before validation. `nil` means the field was absent.
package struct RegistrationRequest: Sendable {
    package var service: String?
    package var function: String?
    package var id: String?
    package var address: String?
    package var port: Int64?
    package var ttl: Int64?
    package var priority: Int64?
    package var weight: Int64?
    package var meta: [(String, String)]

    package init(
        service: String? = nil, function: String? = nil, id: String? = nil, address: String? = nil,
        port: Int64? = nil, ttl: Int64? = nil, priority: Int64? = nil, weight: Int64? = nil,
        meta: [(String, String)] = []
    ) {
        self.service = service
        self.function = function
        self.id = id
        self.address = address
        self.port = port
        self.ttl = ttl
        self.priority = priority
        self.weight = weight
        self.meta = meta
    }

    /// Checks every field against the contract's "Names" rules and fills in the defaults.
    /// - Throws: `LeaseError` naming the first bad field.
    package func validated() throws(LeaseError) -> InstanceSpec {
        guard let rawService = service else { throw .missingField("service") }
        guard let service = LabelRules.normalize(rawService) else {
            throw .invalidField(field: "service", rule: LabelRules.ruleDescription)
        }
        guard let rawFunction = function else { throw .missingField("function") }
        guard let function = LabelRules.normalize(rawFunction) else {
            throw .invalidField(field: "function", rule: LabelRules.ruleDescription)
        }
        guard let rawAddress = address else { throw .missingField("address") }
        guard let address = IPAddress(rawAddress) else {
            throw .invalidField(field: "address", rule: "an IPv4 or IPv6 literal")
        }
        guard let rawPort = port else { throw .missingField("port") }
        guard (1...65_535).contains(rawPort) else { throw .invalidField(field: "port", rule: "an integer 1-65535") }
        let ttl = ttl ?? Int64(InstanceSpec.defaultTTL)
        guard (1...Int64(InstanceSpec.maximumTTL)).contains(ttl) else {
            throw .invalidField(field: "ttl", rule: "an integer 1-86400 (seconds)")
        }
        let priority = priority ?? Int64(InstanceSpec.defaultPriority)
        guard (0...65_535).contains(priority) else {
            throw .invalidField(field: "priority", rule: "an integer 0-65535")
        }
        let weight = weight ?? Int64(InstanceSpec.defaultWeight)
        guard (0...65_535).contains(weight) else { throw .invalidField(field: "weight", rule: "an integer 0-65535") }
        guard meta.count <= InstanceSpec.maximumMetaEntries else {
            throw .invalidField(field: "meta", rule: "at most \(InstanceSpec.maximumMetaEntries) entries")
        }
        var entries: [MetaEntry] = []
        var seenKeys = Set<String>()
        for (key, value) in meta {
            guard !key.isEmpty, !key.utf8.contains(UInt8(ascii: "=")) else {
                throw .invalidField(field: "meta", rule: "keys that are non-empty and contain no '='")
            }
            guard key.utf8.count + 1 + value.utf8.count <= InstanceSpec.maximumMetaStringBytes else {
                throw .invalidField(
                    field: "meta", rule: "entries of at most 255 bytes as key=value (\"\(key)\" is longer)")
            }
            guard seenKeys.insert(key).inserted else {
                throw .invalidField(field: "meta", rule: "keys that appear once (\"\(key)\" repeats)")
            }
            entries.append(MetaEntry(key: key, value: value))
        }
        let id: String
        if let rawID = self.id {
            guard !rawID.isEmpty else { throw .invalidField(field: "id", rule: "non-empty") }
            guard let normalized = LabelRules.normalize(rawID) else {
                throw .invalidField(field: "id", rule: LabelRules.ruleDescription)
            }
            id = normalized
        } else {
            id = InstanceSpec.derivedID(service: service, function: function, address: address, port: UInt16(rawPort))
        }
        return InstanceSpec(
            service: service, function: function, id: id, address: address, port: UInt16(rawPort), ttl: UInt32(ttl),
            priority: UInt16(priority), weight: UInt16(weight), meta: entries)
    }
}
