/// A JSON number, kept as its literal text (RFC 8259 §6) so nothing is lost until a caller asks.
///
/// `asExactInt` answers whether the mathematical value is an integer that fits in an `Int`: `8080`,
/// `-0`, `3e1` and `80.0` are; `8080.5`, `1e400` and `1e-400` are not (decided without going through
/// `Double`), which suits values other programs wrote. `asIntegerLiteral` is stricter: only a number
/// written as an integer (`8080`, `-1`), which is what the contract's "numbers in JSON bodies are
/// integers" asks of request bodies. Equality compares the literal text, so `1` and `1.0` differ.
package struct JSONNumber: Hashable, Sendable, CustomStringConvertible {
    /// The number exactly as written, always valid RFC 8259 `number` syntax.
    package let literal: String

    package init(_ value: Int) { self.literal = String(value) }

    /// A finite double, written as its shortest round-trip form without a trailing `.0`; nil for NaN
    /// and infinities, which JSON cannot express.
    package init?(_ value: Double) {
        guard value.isFinite else { return nil }
        var text = value.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        self.literal = text
    }

    /// Validates `literal` against the JSON number grammar; nil if it does not match.
    package init?(literal: String) {
        var text = literal
        let valid = text.withUTF8 { utf8 in
            (try? JSONNumber.scan(UnsafeRawBufferPointer(utf8), from: 0).get()) == utf8.count
        }
        guard valid else { return nil }
        self.literal = literal
    }

    /// Wraps text the parser has already scanned as a number.
    init(uncheckedLiteral: String) { self.literal = uncheckedLiteral }

    package var description: String { literal }

    /// The value as a double, or nil when it overflows to infinity (`1e400`).
    package var asDouble: Double? {
        guard let value = Double(literal), value.isFinite else { return nil }
        return value
    }

    /// The value as an `Int` if it is a whole number in range, else nil.
    package var asExactInt: Int? {
        var text = literal
        return text.withUTF8 { utf8 in JSONNumber.exactInt(UnsafeRawBufferPointer(utf8)) }
    }

    /// The value if the number is written as an integer (`-? digits`, no fraction or exponent) that fits
    /// in an `Int`, else nil: `100` is 100, while `100.0` and `1e2` are nil.
    package var asIntegerLiteral: Int? {
        guard literal.utf8.allSatisfy({ ASCII.isDigit($0) || $0 == ASCII.minus }) else { return nil }
        return Int(literal)
    }

    /// Computes `asExactInt` from valid number bytes: the digits before the decimal point, shifted by the
    /// exponent, are the integer; every digit after the shifted point must be zero.
    private static func exactInt(_ raw: UnsafeRawBufferPointer) -> Int? {
        var i = 0
        let negative = raw.first == ASCII.minus
        if negative { i += 1 }
        let integerStart = i
        while i < raw.count && ASCII.isDigit(raw[i]) { i += 1 }
        let integerEnd = i
        if i < raw.count && raw[i] == ASCII.dot {
            i += 1
            while i < raw.count && ASCII.isDigit(raw[i]) { i += 1 }
        }
        let significandEnd = i
        var exponent = 0
        if i < raw.count && raw[i] | 0x20 == 0x65 {
            i += 1
            let negativeExponent = raw[i] == ASCII.minus
            if raw[i] == ASCII.minus || raw[i] == ASCII.plus { i += 1 }
            while i < raw.count {
                // Saturate: past this bound the answer no longer depends on the exact exponent.
                exponent = min(exponent * 10 + Int(raw[i] - ASCII.zero), 1_000_000)
                i += 1
            }
            if negativeExponent { exponent = -exponent }
        }
        // How many leading significand digits form the integer part once the exponent is applied.
        let integerDigits = integerEnd - integerStart + exponent
        var value = 0
        var position = 0
        for index in integerStart..<significandEnd where raw[index] != ASCII.dot {
            let digit = Int(raw[index] - ASCII.zero)
            if position < integerDigits {
                let (times10, o1) = value.multipliedReportingOverflow(by: 10)
                let (next, o2) =
                    negative ? times10.subtractingReportingOverflow(digit) : times10.addingReportingOverflow(digit)
                guard !o1 && !o2 else { return nil }
                value = next
            } else if digit != 0 {
                return nil
            }
            position += 1
        }
        // Trailing zeros the exponent adds (`3e1`): only matter, and can only overflow, for a nonzero value.
        if value != 0 && integerDigits > position {
            for _ in position..<integerDigits {
                let (times10, overflow) = value.multipliedReportingOverflow(by: 10)
                guard !overflow else { return nil }
                value = times10
            }
        }
        return value
    }

    /// Where a number's syntax breaks.
    enum SyntaxError: Error, Equatable {
        /// A digit after a leading `0` (`01`), at that digit.
        case leadingZero(at: Int)
        /// A digit was required (after `-`, `.`, `e` or its sign) at this offset.
        case missingDigit(at: Int)
    }

    /// Scans `number = [ minus ] int [ frac ] [ exp ]` (RFC 8259 §6) at `start`; returns the end offset.
    static func scan(_ raw: UnsafeRawBufferPointer, from start: Int) -> Result<Int, SyntaxError> {
        var i = start
        if i < raw.count && raw[i] == ASCII.minus { i += 1 }
        guard i < raw.count, ASCII.isDigit(raw[i]) else { return .failure(.missingDigit(at: i)) }
        if raw[i] == ASCII.zero {
            i += 1
            if i < raw.count && ASCII.isDigit(raw[i]) { return .failure(.leadingZero(at: i)) }
        } else {
            while i < raw.count && ASCII.isDigit(raw[i]) { i += 1 }
        }
        if i < raw.count && raw[i] == ASCII.dot {
            i += 1
            guard i < raw.count, ASCII.isDigit(raw[i]) else { return .failure(.missingDigit(at: i)) }
            while i < raw.count && ASCII.isDigit(raw[i]) { i += 1 }
        }
        if i < raw.count && raw[i] | 0x20 == 0x65 {
            i += 1
            if i < raw.count && (raw[i] == ASCII.plus || raw[i] == ASCII.minus) { i += 1 }
            guard i < raw.count, ASCII.isDigit(raw[i]) else { return .failure(.missingDigit(at: i)) }
            while i < raw.count && ASCII.isDigit(raw[i]) { i += 1 }
        }
        return .success(i)
    }
}
