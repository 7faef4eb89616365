/// Writes compact JSON straight into a byte buffer, inserting commas and colons itself.
///
/// The token calls (`beginObject`, `key`, `string`, `int`, ...) append in the order made, so a reply's
/// key order is the order of the code. Nothing is allocated beyond the buffer's growth: integers are
/// written digit by digit and strings are escaped in place. Escaping (RFC 8259 §7): `"` and `\`, the
/// two-character forms `\b \f \n \r \t`, and `\u00XX` for every other control character; everything
/// else, including non-ASCII, is written as UTF-8.
///
///     var json = JSONWriter()
///     json.object { o in
///         o.field("id", id)
///         o.field("ttl", 30)
///     }
package struct JSONWriter {
    package var bytes: [UInt8]
    /// Bit `d` is set once the container at depth `d` has an element (so the next needs a comma).
    private var hasElement: UInt64 = 0
    /// The same flags for depths 64 and beyond, which only deliberately deep values reach.
    private var deepHasElement: [Bool] = []
    private var depth = 0
    private var afterKey = false

    package init(bytes: [UInt8] = []) { self.bytes = bytes }

    /// Lends `buffer` to a writer for `body`, so JSON is appended to it without copying.
    package static func write(into buffer: inout [UInt8], _ body: (inout JSONWriter) -> Void) {
        var writer = JSONWriter()
        swap(&writer.bytes, &buffer)
        body(&writer)
        swap(&writer.bytes, &buffer)
    }

    /// Writes the comma a new element needs, and marks the current container non-empty.
    @inline(__always)
    private mutating func separate() {
        if afterKey {
            afterKey = false
            return
        }
        if depth < 64 {
            let bit: UInt64 = 1 << UInt64(depth)
            if hasElement & bit != 0 { bytes.append(ASCII.comma) }
            hasElement |= bit
        } else {
            if deepHasElement[depth - 64] { bytes.append(ASCII.comma) }
            deepHasElement[depth - 64] = true
        }
    }

    // MARK: - Containers

    package mutating func beginObject() { open(0x7B) }
    package mutating func endObject() { close(0x7D) }
    package mutating func beginArray() { open(0x5B) }
    package mutating func endArray() { close(0x5D) }

    private mutating func open(_ bracket: UInt8) {
        separate()
        bytes.append(bracket)
        depth += 1
        if depth < 64 {
            hasElement &= ~(1 << UInt64(depth))
        } else if depth - 64 < deepHasElement.count {
            deepHasElement[depth - 64] = false
        } else {
            deepHasElement.append(false)
        }
    }

    private mutating func close(_ bracket: UInt8) {
        precondition(depth > 0, "JSONWriter: unbalanced close")
        depth -= 1
        bytes.append(bracket)
    }

    /// `{ ... }` around `body`.
    package mutating func object(_ body: (inout JSONWriter) -> Void) {
        beginObject()
        body(&self)
        endObject()
    }

    /// `[ ... ]` around `body`.
    package mutating func array(_ body: (inout JSONWriter) -> Void) {
        beginArray()
        body(&self)
        endArray()
    }

    /// An object member's key; the next value written is its value.
    package mutating func key(_ key: String) {
        string(key)
        bytes.append(ASCII.colon)
        afterKey = true
    }

    // MARK: - Scalars

    package mutating func null() {
        separate()
        bytes.append("null")
    }

    package mutating func bool(_ value: Bool) {
        separate()
        bytes.append(value ? "true" : "false")
    }

    package mutating func int(_ value: Int) {
        separate()
        bytes.appendDecimal(value)
    }

    /// A finite double in its shortest round-trip form, without a trailing `.0` (`30`, `0.5`, `1e+100`).
    /// JSON has no NaN or infinity: those are written as `null`.
    package mutating func double(_ value: Double) {
        guard let number = JSONNumber(value) else { return null() }
        self.number(number)
    }

    package mutating func number(_ value: JSONNumber) {
        separate()
        bytes.append(contentsOf: value.literal.utf8)
    }

    package mutating func string(_ value: String) {
        separate()
        bytes.append(ASCII.quote)
        var text = value
        text.withUTF8 { utf8 in
            var runStart = 0
            for (i, b) in utf8.enumerated() where b < 0x20 || b == ASCII.quote || b == ASCII.backslash {
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<i]))
                appendEscape(b)
                runStart = i + 1
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...]))
        }
        bytes.append(ASCII.quote)
    }

    private mutating func appendEscape(_ b: UInt8) {
        bytes.append(ASCII.backslash)
        switch b {
        case ASCII.quote, ASCII.backslash: bytes.append(b)
        case 0x08: bytes.append(0x62)
        case 0x0C: bytes.append(0x66)
        case ASCII.lf: bytes.append(0x6E)
        case ASCII.cr: bytes.append(0x72)
        case ASCII.tab: bytes.append(0x74)
        default:
            let hex: StaticString = "0123456789abcdef"
            bytes.append("u00")
            bytes.append(hex.utf8Start[Int(b >> 4)])
            bytes.append(hex.utf8Start[Int(b & 0xF)])
        }
    }

    /// Any JSON value, recursively.
    package mutating func value(_ value: JSONValue) {
        switch value {
        case .null: null()
        case .bool(let b): bool(b)
        case .number(let n): number(n)
        case .string(let s): string(s)
        case .array(let elements):
            beginArray()
            for element in elements { self.value(element) }
            endArray()
        case .object(let members):
            beginObject()
            for member in members {
                key(member.key)
                self.value(member.value)
            }
            endObject()
        }
    }

    // MARK: - Members

    package mutating func field(_ name: String, _ value: String) {
        key(name)
        string(value)
    }

    package mutating func field(_ name: String, _ value: Int) {
        key(name)
        int(value)
    }

    package mutating func field(_ name: String, _ value: Double) {
        key(name)
        double(value)
    }

    package mutating func field(_ name: String, _ value: Bool) {
        key(name)
        bool(value)
    }

    package mutating func field(_ name: String, _ value: JSONValue) {
        key(name)
        self.value(value)
    }

    /// A member whose value `body` writes (an object or array built in place).
    package mutating func field(_ name: String, _ body: (inout JSONWriter) -> Void) {
        key(name)
        body(&self)
    }
}
