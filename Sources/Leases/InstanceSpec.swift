import Primitives
import DNSWire

/// What a client asks to register, validated: every field within the contract's bounds.
package struct InstanceSpec: Equatable, Hashable, Sendable {
    package var service: String
    package var function: String
    package var id: String
    package var address: IPAddress
    package var port: UInt16
    /// The lease, in whole seconds (1-86400).
    package var ttl: UInt32
    package var priority: UInt16
    package var weight: UInt16
    /// Published as TXT `key=value` strings, in this order.
    package var meta: [MetaEntry]

    package static let defaultTTL: UInt32 = 30
    package static let maximumTTL: UInt32 = 86_400
    package static let defaultPriority: UInt16 = 0
    package static let defaultWeight: UInt16 = 1
    /// RFC 1035 §3.3: a character-string holds at most 255 octets.
    package static let maximumMetaStringBytes = 255
    package static let maximumMetaEntries = 64

    package init(
        service: String, function: String, id: String, address: IPAddress, port: UInt16,
        ttl: UInt32 = InstanceSpec.defaultTTL, priority: UInt16 = InstanceSpec.defaultPriority,
        weight: UInt16 = InstanceSpec.defaultWeight, meta: [MetaEntry] = []
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

    /// The id given to an endpoint registered without one: the same service, function, address and
    /// port always give the same id, so registering twice is one instance.
    ///
    /// 13 base-32 characters of a 64-bit FNV-1a hash: a valid label that stays within Swift's
    /// 15-byte small-string form, so it costs no allocation per instance.
    package static func derivedID(service: String, function: String, address: IPAddress, port: UInt16) -> String {
        let hash = FNV1a.hash("\(service)|\(function)|\(address)|\(port)".utf8)
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567".utf8)
        var text: [UInt8] = []
        for index in 0..<13 { text.append(alphabet[Int((hash >> UInt64(index * 5)) & 31)]) }
        return String(decoding: text, as: UTF8.self)
    }
}

/// One `meta` entry. Keys are non-empty and hold no `=`, so `key=value` reads back unambiguously.
package struct MetaEntry: Equatable, Hashable, Sendable {
    package var key: String
    package var value: String

    package init(key: String, value: String) {
        self.key = key
        self.value = value
    }

    /// The length of `key=value`, as published in TXT (at most 255 bytes).
    package var publishedLength: Int { key.utf8.count + 1 + value.utf8.count }
}
