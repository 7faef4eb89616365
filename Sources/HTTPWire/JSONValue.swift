/// A JSON value (RFC 8259 §3). Objects keep their members in order, so a reply built from a literal
/// serializes in the order it was written, and parsed objects never hold duplicate keys.
///
/// Literal conformances make fixed-order replies read naturally:
///
///     let reply: JSONValue = ["id": .string(id), "ttl": .number(JSONNumber(ttl))]
package enum JSONValue: Sendable, Equatable {
    package typealias Member = (key: String, value: JSONValue)

    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    case object([Member])

    package static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.bool(let a), .bool(let b)): a == b
        case (.number(let a), .number(let b)): a == b
        case (.string(let a), .string(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.object(let a), .object(let b)): a.elementsEqual(b) { $0.key == $1.key && $0.value == $1.value }
        default: false
        }
    }

    // MARK: - Access

    /// The member called `key` (exact match) if this is an object that has one.
    package subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        for member in members where member.key == key { return member.value }
        return nil
    }

    /// The element at `index` if this is an array long enough.
    package subscript(index: Int) -> JSONValue? {
        guard case .array(let elements) = self, elements.indices.contains(index) else { return nil }
        return elements[index]
    }

    package var isNull: Bool { self == .null }

    package var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    package var numberValue: JSONNumber? {
        if case .number(let value) = self { return value }
        return nil
    }

    package var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    package var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    package var objectValue: [Member]? {
        if case .object(let value) = self { return value }
        return nil
    }

    // MARK: - Serializing

    /// Compact JSON text (no insignificant whitespace), as bytes.
    package func serialized() -> [UInt8] {
        var writer = JSONWriter()
        writer.value(self)
        return writer.bytes
    }

    /// Compact JSON text.
    package var jsonText: String { String(decoding: serialized(), as: UTF8.self) }
}

extension JSONValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    package init(nilLiteral: ()) { self = .null }
    package init(booleanLiteral value: Bool) { self = .bool(value) }
    package init(integerLiteral value: Int) { self = .number(JSONNumber(value)) }

    /// A float literal; a non-finite one (only `.infinity`-like expressions can be) becomes `null`.
    package init(floatLiteral value: Double) { self = JSONNumber(value).map(JSONValue.number) ?? .null }
    package init(stringLiteral value: String) { self = .string(value) }
    package init(arrayLiteral elements: JSONValue...) { self = .array(elements) }

    /// Members in the order written. Repeating a key in a literal is a programming error and traps.
    package init(dictionaryLiteral elements: (String, JSONValue)...) {
        var members: [Member] = []
        members.reserveCapacity(elements.count)
        for (key, value) in elements {
            precondition(!members.contains { $0.key == key }, "duplicate key \"\(key)\" in JSON literal")
            members.append((key, value))
        }
        self = .object(members)
    }
}
