import Primitives
import DNSWire
import Leases

/// Pre-encoded answers for every static RRset, built once at start by the reference `Resolver`.
///
/// Zones do not change while Beacon runs, so the answer to (name, type) for a name that holds data
/// of that type is fixed: the fast path copies it and patches the ID, the question's case and the
/// flags. Names whose answer could involve registrations (registration-shaped names under the
/// domain, or records pointing at them) get no template and stay on the full path.
package struct StaticTemplates: Sendable {
    package struct Template: Sendable {
        /// AA and RCODE bits of the response flags.
        package var flags: UInt16
        package var answerCount: UInt16
        package var authorityCount: UInt16
        package var additionalCount: UInt16
        /// The sections after the question, encoded for a question at offset 12 of the same length.
        package var body: [UInt8]
    }

    private var table = ByteKeyTable<Template>()

    package init() {}

    /// Builds a template for every RRset of every zone whose answer does not depend on registrations.
    package init(resolver: Resolver) {
        let empty = LeaseTable()
        for zone in resolver.zones.zones {
            for (owner, node) in zone.nodes {
                guard !resolver.dynamic.isRegistrationShaped(owner) else { continue }
                for type in node.rrsets.keys where type != .any {
                    let question = Question(name: owner, type: type)
                    let resolution = resolver.resolve(question, leases: empty, now: .zero)
                    guard resolution.outcome == .answer, !Self.dependsOnRegistrations(resolution, resolver.dynamic),
                        let template = Self.encode(question: question, resolution: resolution)
                    else { continue }
                    table.insert(key: owner.lowercased().wire, type: type.rawValue, template)
                }
            }
        }
    }

    package var count: Int { table.count }

    package func template(name: UnsafeRawBufferPointer, type: UInt16) -> Template? {
        table.lookup(name, type: type)
    }

    private static func dependsOnRegistrations(_ resolution: Resolution, _ dynamic: DynamicNames) -> Bool {
        for set in resolution.answers + resolution.authorities + resolution.additionals {
            if dynamic.isRegistrationShaped(set.name) { return true }
            for rdata in set.rdatas {
                switch rdata {
                case .srv(let srv) where dynamic.isRegistrationShaped(srv.target): return true
                case .mx(_, let exchange) where dynamic.isRegistrationShaped(exchange): return true
                case .ns(let host) where dynamic.isRegistrationShaped(host): return true
                case .cname(let target) where dynamic.isRegistrationShaped(target): return true
                default: continue
                }
            }
        }
        return false
    }

    private static func encode(question: Question, resolution: Resolution) -> Template? {
        var writer = WireWriter(capacity: 512)
        let written = ResponseWriter.write(
            query: Header(), question: question, clientEDNS: nil, rcode: resolution.rcode,
            authoritative: resolution.authoritative, answers: resolution.answers, authorities: resolution.authorities,
            additionals: resolution.additionals, limit: 0xFFFF, into: &writer)
        guard !written.truncated else { return nil }
        let bytes = writer.bytes
        let questionEnd = Header.size + question.name.wire.count + 4
        return Template(
            flags: (UInt16(bytes[2]) << 8 | UInt16(bytes[3])) & 0x040F,
            answerCount: UInt16(bytes[6]) << 8 | UInt16(bytes[7]),
            authorityCount: UInt16(bytes[8]) << 8 | UInt16(bytes[9]),
            additionalCount: UInt16(bytes[10]) << 8 | UInt16(bytes[11]), body: Array(bytes[questionEnd...]))
    }
}

/// An immutable-after-build hash table keyed by (lower-case wire name, type), looked up from
/// borrowed bytes without building a key.
struct ByteKeyTable<Value: Sendable>: Sendable {
    private struct Slot: Sendable {
        var hash: UInt64
        var key: [UInt8]
        var type: UInt16
        var value: Value
    }

    private var slots: [Slot?] = Array(repeating: nil, count: 16)
    private(set) var count = 0

    static func hash(_ bytes: UnsafeRawBufferPointer, type: UInt16) -> UInt64 {
        let hash = FNV1a.hash(bytes, seed: FNV1a.offsetBasis ^ UInt64(type))
        return hash ^ (hash >> 29)
    }

    mutating func insert(key: [UInt8], type: UInt16, _ value: Value) {
        if (count + 1) * 4 > slots.count * 3 { grow() }
        let hash = key.withUnsafeBytes { Self.hash($0, type: type) }
        var index = Int(truncatingIfNeeded: hash) & (slots.count - 1)
        while let slot = slots[index] {
            if slot.hash == hash, slot.type == type, slot.key == key {
                slots[index]!.value = value
                return
            }
            index = (index + 1) & (slots.count - 1)
        }
        slots[index] = Slot(hash: hash, key: key, type: type, value: value)
        count += 1
    }

    func lookup(_ key: UnsafeRawBufferPointer, type: UInt16) -> Value? {
        guard count > 0 else { return nil }
        let hash = Self.hash(key, type: type)
        var index = Int(truncatingIfNeeded: hash) & (slots.count - 1)
        while let slot = slots[index] {
            if slot.hash == hash, slot.type == type, slot.key.count == key.count,
                slot.key.withUnsafeBytes({ $0.elementsEqual(key) })
            {
                return slot.value
            }
            index = (index + 1) & (slots.count - 1)
        }
        return nil
    }

    private mutating func grow() {
        let old = slots
        slots = Array(repeating: nil, count: old.count * 2)
        count = 0
        for case let slot? in old { insert(key: slot.key, type: slot.type, slot.value) }
    }
}
