/// An HTTP version as sent in a start line: `HTTP/` DIGIT `.` DIGIT (RFC 9112 §2.3).
///
/// Only major version 1 is spoken. A higher 1.x minor is kept as received and treated as 1.1, as
/// RFC 9110 §2.5 asks ("process the message as if it were in the highest minor version ... to which
/// the recipient is conformant").
package struct HTTPVersion: Hashable, Sendable, CustomStringConvertible {
    package var major: UInt8
    package var minor: UInt8

    package init(major: UInt8, minor: UInt8) {
        self.major = major
        self.minor = minor
    }

    package static let http1_0 = HTTPVersion(major: 1, minor: 0)
    package static let http1_1 = HTTPVersion(major: 1, minor: 1)

    /// Whether a connection persists by default (RFC 9112 §9.3): from HTTP/1.1 on, unless `close` is sent.
    package var persistsByDefault: Bool { major > 1 || (major == 1 && minor >= 1) }

    package var description: String { "HTTP/\(major).\(minor)" }

    /// Parses exactly `HTTP/d.d` at `range`; nil if the bytes are not in that form.
    static func parse(_ raw: UnsafeRawBufferPointer, _ range: Range<Int>) -> HTTPVersion? {
        guard range.count == 8 else { return nil }
        let s = range.lowerBound
        guard raw[s] == 0x48, raw[s + 1] == 0x54, raw[s + 2] == 0x54, raw[s + 3] == 0x50, raw[s + 4] == ASCII.slash,
            ASCII.isDigit(raw[s + 5]), raw[s + 6] == ASCII.dot, ASCII.isDigit(raw[s + 7])
        else { return nil }
        return HTTPVersion(major: raw[s + 5] - ASCII.zero, minor: raw[s + 7] - ASCII.zero)
    }
}
