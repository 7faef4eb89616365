/// The field lines of a message, in the order received, with names as sent.
///
/// Lookup ignores ASCII case (RFC 9110 §5.1: "Field names are case-insensitive") and is a linear
/// scan: a request carries a handful of fields, where a dictionary would cost more than it saves.
package struct HTTPHeaders: Sendable, Equatable, RandomAccessCollection, ExpressibleByDictionaryLiteral {
    package typealias Field = (name: String, value: String)

    package private(set) var fields: [Field]

    package init(_ fields: [Field] = []) { self.fields = fields }

    package init(dictionaryLiteral elements: (String, String)...) {
        self.fields = elements.map { (name: $0.0, value: $0.1) }
    }

    package var startIndex: Int { fields.startIndex }
    package var endIndex: Int { fields.endIndex }
    package subscript(position: Int) -> Field { fields[position] }

    /// The value of the first field called `name` (any case), or nil.
    package subscript(name: String) -> String? {
        for field in fields where equalsIgnoringASCIICase(field.name, name) { return field.value }
        return nil
    }

    /// The values of every field called `name` (any case), in order.
    package func values(for name: String) -> [String] {
        fields.filter { equalsIgnoringASCIICase($0.name, name) }.map(\.value)
    }

    package mutating func add(name: String, value: String) {
        fields.append((name: name, value: value))
    }

    package mutating func reserveCapacity(_ count: Int) { fields.reserveCapacity(count) }

    package static func == (lhs: HTTPHeaders, rhs: HTTPHeaders) -> Bool {
        lhs.fields.elementsEqual(rhs.fields) { $0.name == $1.name && $0.value == $1.value }
    }
}
