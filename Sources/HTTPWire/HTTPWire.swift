// HTTPWire: HTTP/1.1 messages (RFC 9110, RFC 9112) and JSON (RFC 8259), parsed and written over bytes.
//
// Conventions. Everything here is pure (standard library only) and `package` access. Parsers work on
// `UnsafeRawBufferPointer` views of a buffer they own and never turn a whole message into a `String`:
// the only strings made are the values handed out (method, path, query items, header names and
// values, JSON strings). Offsets are 0-based byte offsets. Parsers are value-type state machines fed
// arbitrary chunks with `append` and drained with `next()`, which returns nil for "need more bytes"
// and throws a typed error once the input is known to be bad; a failed parser stays failed. Writers
// append to a `[UInt8]` the caller owns and reuses (they never clear it). Limits and grammar rules
// name the RFC section they come from.

/// Byte values the parsers and writers compare against, so grammar code reads like the RFC's ABNF.
enum ASCII {
    static let tab: UInt8 = 0x09
    static let lf: UInt8 = 0x0A
    static let cr: UInt8 = 0x0D
    static let space: UInt8 = 0x20
    static let quote: UInt8 = 0x22
    static let hash: UInt8 = 0x23
    static let percent: UInt8 = 0x25
    static let ampersand: UInt8 = 0x26
    static let plus: UInt8 = 0x2B
    static let comma: UInt8 = 0x2C
    static let minus: UInt8 = 0x2D
    static let dot: UInt8 = 0x2E
    static let slash: UInt8 = 0x2F
    static let zero: UInt8 = 0x30
    static let nine: UInt8 = 0x39
    static let colon: UInt8 = 0x3A
    static let semicolon: UInt8 = 0x3B
    static let equals: UInt8 = 0x3D
    static let question: UInt8 = 0x3F
    static let backslash: UInt8 = 0x5C
    static let asterisk: UInt8 = 0x2A
    static let delete: UInt8 = 0x7F

    /// `b` lower-cased if it is an ASCII capital letter.
    @inline(__always)
    static func lower(_ b: UInt8) -> UInt8 { b &- 0x41 < 26 ? b | 0x20 : b }

    @inline(__always)
    static func isDigit(_ b: UInt8) -> Bool { b &- zero < 10 }

    /// SP or HTAB: RFC 9110 §5.6.3 OWS/BWS.
    @inline(__always)
    static func isWhitespace(_ b: UInt8) -> Bool { b == space || b == tab }

    /// The value of a hexadecimal digit, or nil.
    @inline(__always)
    static func hexValue(_ b: UInt8) -> UInt8? {
        if b &- zero < 10 { return b &- zero }
        let l = b | 0x20
        if l &- 0x61 < 6 { return l &- 0x61 &+ 10 }
        return nil
    }

    /// RFC 9110 §5.6.2: `tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`"
    /// / "|" / "~" / DIGIT / ALPHA`.
    @inline(__always)
    static func isTokenCharacter(_ b: UInt8) -> Bool {
        switch b {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: true
        case 0x21, 0x23...0x27, 0x2A, 0x2B, 0x2D, 0x2E, 0x5E, 0x5F, 0x60, 0x7C, 0x7E: true
        default: false
        }
    }
}

extension UnsafeRawBufferPointer {
    /// Whether the bytes in `range` equal `lowercase` ignoring ASCII case; `lowercase` must be lower-case ASCII.
    @inline(__always)
    func equalsIgnoringCase(_ range: Range<Int>, _ lowercase: StaticString) -> Bool {
        guard range.count == lowercase.utf8CodeUnitCount else { return false }
        let literal = lowercase.utf8Start
        var i = 0
        for index in range {
            guard ASCII.lower(self[index]) == literal[i] else { return false }
            i += 1
        }
        return true
    }

    /// The bytes in `range` as a string, replacing invalid UTF-8 (only obs-text can produce any).
    @inline(__always)
    func string(_ range: Range<Int>) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: self[range]), as: UTF8.self)
    }
}

extension Array where Element == UInt8 {
    /// Appends the UTF-8 of a static string without creating a `String`.
    @inline(__always)
    mutating func append(_ literal: StaticString) {
        append(contentsOf: UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    /// Appends the decimal digits of `value`, without an intermediate `String`.
    mutating func appendDecimal(_ value: Int) {
        var magnitude = value.magnitude
        if value < 0 { append(ASCII.minus) }
        let first = count
        repeat {
            append(ASCII.zero &+ UInt8(truncatingIfNeeded: magnitude % 10))
            magnitude /= 10
        } while magnitude > 0
        self[first...].reverse()
    }
}

/// ASCII-case-insensitive equality of two strings, without allocating.
func equalsIgnoringASCIICase(_ a: String, _ b: String) -> Bool {
    guard a.utf8.count == b.utf8.count else { return false }
    for (x, y) in zip(a.utf8, b.utf8) where ASCII.lower(x) != ASCII.lower(y) { return false }
    return true
}
