import HTTPWire
import Leases
import PosixIO

/// The registration flags `beacon register` and `beacon sidecar` share, turned into the JSON body of
/// `POST /v1/register`.
struct RegistrationFlags: Equatable {
    static let specs: [FlagSpec] = [
        FlagSpec("service"), FlagSpec("function"), FlagSpec("address"), FlagSpec("port"), FlagSpec("id"),
        FlagSpec("ttl"), FlagSpec("priority"), FlagSpec("weight"), FlagSpec("meta", repeatable: true),
    ]

    var service: String
    var function: String
    var address: String
    var port: Int
    var id: String?
    var ttl: Int?
    var priority: Int?
    var weight: Int?
    var meta: [(String, String)] = []

    static func == (lhs: RegistrationFlags, rhs: RegistrationFlags) -> Bool {
        lhs.body == rhs.body
    }

    /// Reads the flags. Missing required flags, non-integers and `--meta` without `=` are usage errors.
    ///
    /// - Parameters:
    ///   - defaultAddress: used when `--address` is absent; nil makes `--address` required.
    ///   - checkRanges: also refuse values the server would refuse (labels, address, ranges). The
    ///     sidecar does, so that a typo stops it at start-up instead of failing every few seconds
    ///     later; `beacon register` does not, so the server's own message is what the user sees.
    static func parse(_ arguments: ParsedArguments, defaultAddress: String?, checkRanges: Bool) throws(UsageError)
        -> RegistrationFlags
    {
        func required(_ name: String) throws(UsageError) -> String {
            guard let value = arguments.value(name) else { throw UsageError("missing --\(name)") }
            return value
        }
        func integer(_ name: String, _ range: ClosedRange<Int>) throws(UsageError) -> Int? {
            guard let text = arguments.value(name) else { return nil }
            guard let value = Int(text) else { throw UsageError("--\(name): expected an integer, got '\(text)'") }
            if checkRanges, !range.contains(value) {
                throw UsageError(
                    "--\(name): expected an integer \(range.lowerBound)-\(range.upperBound), got '\(text)'")
            }
            return value
        }
        func label(_ name: String, _ text: String) throws(UsageError) -> String {
            guard checkRanges else { return text }
            guard let normalized = LabelRules.normalize(text) else {
                throw UsageError("--\(name): must be \(LabelRules.ruleDescription), got '\(text)'")
            }
            return normalized
        }
        let service = try label("service", try required("service"))
        let function = try label("function", try required("function"))
        guard let address = arguments.value("address") ?? defaultAddress else { throw UsageError("missing --address") }
        if checkRanges, SocketAddress(parsing: "[\(address)]:0") == nil, SocketAddress(parsing: "\(address):0") == nil {
            throw UsageError("--address: expected an IPv4 or IPv6 literal, got '\(address)'")
        }
        guard let port = try integer("port", 1...65_535) else { throw UsageError("missing --port") }
        var flags = RegistrationFlags(service: service, function: function, address: address, port: port)
        if let id = arguments.value("id") { flags.id = try label("id", id) }
        flags.ttl = try integer("ttl", 1...86_400)
        flags.priority = try integer("priority", 0...65_535)
        flags.weight = try integer("weight", 0...65_535)
        for entry in arguments.list("meta") {
            guard let equals = entry.firstIndex(of: "="), equals != entry.startIndex else {
                throw UsageError("--meta: expected KEY=VALUE, got '\(entry)'")
            }
            let key = String(entry[..<equals])
            let value = String(entry[entry.index(after: equals)...])
            if checkRanges, entry.utf8.count > 255 {
                throw UsageError("--meta: '\(key)=...' is longer than 255 bytes")
            }
            flags.meta.removeAll { $0.0 == key }
            flags.meta.append((key, value))
        }
        return flags
    }

    /// The `POST /v1/register` body, optional fields only when given.
    var body: JSONValue {
        var members: [JSONValue.Member] = [
            ("service", .string(service)), ("function", .string(function)), ("address", .string(address)),
            ("port", .number(JSONNumber(port))),
        ]
        if let id { members.append(("id", .string(id))) }
        if let ttl { members.append(("ttl", .number(JSONNumber(ttl)))) }
        if let priority { members.append(("priority", .number(JSONNumber(priority)))) }
        if let weight { members.append(("weight", .number(JSONNumber(weight)))) }
        if !meta.isEmpty { members.append(("meta", .object(meta.map { ($0.0, JSONValue.string($0.1)) }))) }
        return .object(members)
    }
}
