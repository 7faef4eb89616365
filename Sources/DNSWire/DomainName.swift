/// A domain name in uncompressed wire form: length-prefixed labels ending with the root label.
///
/// The original case is kept (so answers can echo it); equality and hashing ignore ASCII case
/// (RFC 4343). The wire form is at most 255 octets with labels of at most 63 (RFC 1035 §2.3.4).
package struct DomainName: Hashable, Sendable, CustomStringConvertible {
    package private(set) var wire: [UInt8]

    package static let root = DomainName(uncheckedWire: [0])

    /// Wraps bytes already known to be a valid uncompressed name.
    package init(uncheckedWire: [UInt8]) { self.wire = uncheckedWire }

    /// Builds a name from label byte strings, checking RFC 1035 limits.
    package init(labels: [[UInt8]]) throws(DomainNameError) {
        var wire: [UInt8] = []
        for label in labels {
            guard !label.isEmpty else { throw .emptyLabel }
            guard label.count <= 63 else { throw .labelTooLong }
            wire.append(UInt8(label.count))
            wire.append(contentsOf: label)
        }
        wire.append(0)
        guard wire.count <= 255 else { throw .nameTooLong }
        self.wire = wire
    }

    /// Parses presentation format (`www.example.com.`), with `\.` and `\DDD` escapes.
    /// A name without the final dot is taken as absolute too.
    package init(_ text: String) throws(DomainNameError) {
        self = try DomainName.parse(Array(text.utf8), origin: .root).name
    }

    package var isRoot: Bool { wire.count == 1 }

    /// The number of labels, not counting the root.
    package var labelCount: Int {
        var count = 0
        var index = 0
        while wire[index] != 0 {
            count += 1
            index += 1 + Int(wire[index])
        }
        return count
    }

    /// The labels from left to right, without the root.
    package var labels: [ArraySlice<UInt8>] {
        var result: [ArraySlice<UInt8>] = []
        var index = 0
        while wire[index] != 0 {
            let count = Int(wire[index])
            result.append(wire[(index + 1)..<(index + 1 + count)])
            index += 1 + count
        }
        return result
    }

    /// The name with its first `count` labels removed.
    package func dropFirstLabels(_ count: Int) -> DomainName {
        var index = 0
        for _ in 0..<count where wire[index] != 0 { index += 1 + Int(wire[index]) }
        return DomainName(uncheckedWire: Array(wire[index...]))
    }

    /// The name's parent, or the root for the root.
    package var parent: DomainName { dropFirstLabels(1) }

    /// `label.self`, or nil if that breaks a limit.
    package func prepending(_ label: some Collection<UInt8>) -> DomainName? {
        guard !label.isEmpty, label.count <= 63, wire.count + 1 + label.count <= 255 else { return nil }
        var result: [UInt8] = [UInt8(label.count)]
        result.append(contentsOf: label)
        result.append(contentsOf: wire)
        return DomainName(uncheckedWire: result)
    }

    /// The same name with ASCII letters lower-cased: the form used as a lookup key.
    package func lowercased() -> DomainName {
        DomainName(uncheckedWire: wire.map(asciiLower))
    }

    /// Whether `self` equals `ancestor` or lies below it.
    package func isSubdomain(of ancestor: DomainName) -> Bool {
        let extra = wire.count - ancestor.wire.count
        guard extra >= 0 else { return false }
        // The suffix must start on a label boundary.
        var index = 0
        while index < extra { index += 1 + Int(wire[index]) }
        guard index == extra else { return false }
        for offset in 0..<ancestor.wire.count where asciiLower(wire[extra + offset]) != asciiLower(ancestor.wire[offset])
        {
            return false
        }
        return true
    }

    /// The first label, or nil for the root.
    package var firstLabel: ArraySlice<UInt8>? {
        wire[0] == 0 ? nil : wire[1..<(1 + Int(wire[0]))]
    }

    package var isWildcard: Bool { wire.count >= 2 && wire[0] == 1 && wire[1] == UInt8(ascii: "*") }

    package static func == (lhs: DomainName, rhs: DomainName) -> Bool {
        guard lhs.wire.count == rhs.wire.count else { return false }
        for index in 0..<lhs.wire.count where asciiLower(lhs.wire[index]) != asciiLower(rhs.wire[index]) {
            return false
        }
        return true
    }

    package func hash(into hasher: inout Hasher) {
        for byte in wire { hasher.combine(asciiLower(byte)) }
    }

    /// Whether the names are equal byte for byte, case included.
    package func isIdentical(to other: DomainName) -> Bool { wire == other.wire }

    // MARK: - Presentation format

    package var description: String {
        if isRoot { return "." }
        var text = ""
        for label in labels {
            for byte in label {
                switch byte {
                case UInt8(ascii: "."), UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: "("), UInt8(ascii: ")"),
                    UInt8(ascii: ";"), UInt8(ascii: "@"), UInt8(ascii: "$"):
                    text.append("\\")
                    text.append(Character(Unicode.Scalar(byte)))
                case 0x21...0x7E:
                    text.append(Character(Unicode.Scalar(byte)))
                default:
                    let digits = String(byte)
                    text.append("\\" + String(repeating: "0", count: 3 - digits.count) + digits)
                }
            }
            text.append(".")
        }
        return text
    }

    /// Parses a name in presentation format, relative to `origin` unless it ends with a dot.
    ///
    /// `@` alone is the origin. Escapes: `\X` is X literally, `\DDD` is the octet DDD (RFC 1035 §5.1).
    /// - Returns: the name and whether it was written absolute.
    package static func parse(_ text: some Collection<UInt8>, origin: DomainName?) throws(DomainNameError) -> (
        name: DomainName, absolute: Bool
    ) {
        let chars = Array(text)
        if chars == [UInt8(ascii: "@")] {
            guard let origin else { throw .relativeWithoutOrigin }
            return (origin, false)
        }
        if chars == [UInt8(ascii: ".")] { return (.root, true) }
        guard !chars.isEmpty else { throw .emptyLabel }
        var labels: [[UInt8]] = []
        var current: [UInt8] = []
        var index = 0
        var endsWithDot = false
        while index < chars.count {
            let char = chars[index]
            endsWithDot = false
            if char == UInt8(ascii: "\\") {
                index += 1
                guard index < chars.count else { throw .badEscape }
                if chars[index] >= UInt8(ascii: "0"), chars[index] <= UInt8(ascii: "9") {
                    guard index + 2 < chars.count else { throw .badEscape }
                    var value = 0
                    for step in 0..<3 {
                        let digit = chars[index + step]
                        guard digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "9") else { throw .badEscape }
                        value = value * 10 + Int(digit - UInt8(ascii: "0"))
                    }
                    guard value <= 255 else { throw .badEscape }
                    current.append(UInt8(value))
                    index += 3
                } else {
                    current.append(chars[index])
                    index += 1
                }
                continue
            }
            if char == UInt8(ascii: ".") {
                guard !current.isEmpty else { throw .emptyLabel }
                guard current.count <= 63 else { throw .labelTooLong }
                labels.append(current)
                current = []
                endsWithDot = true
                index += 1
                continue
            }
            current.append(char)
            index += 1
        }
        if !current.isEmpty {
            guard current.count <= 63 else { throw .labelTooLong }
            labels.append(current)
        }
        var result = try DomainName(labels: labels)
        if !endsWithDot {
            guard let origin else { throw .relativeWithoutOrigin }
            var wire = result.wire
            wire.removeLast()
            wire.append(contentsOf: origin.wire)
            guard wire.count <= 255 else { throw .nameTooLong }
            result = DomainName(uncheckedWire: wire)
        }
        return (result, endsWithDot)
    }
}

/// Why presentation-format text is not a valid domain name.
package enum DomainNameError: Error, Equatable, Sendable, CustomStringConvertible {
    case emptyLabel
    case labelTooLong
    case nameTooLong
    case badEscape
    case relativeWithoutOrigin

    package var description: String {
        switch self {
        case .emptyLabel: "empty label"
        case .labelTooLong: "label longer than 63 octets"
        case .nameTooLong: "name longer than 255 octets"
        case .badEscape: "bad escape (\\X or \\DDD with DDD <= 255)"
        case .relativeWithoutOrigin: "relative name with no origin"
        }
    }
}
