/// Why JSON text was rejected, and where: `expected ':' at byte 17`.
///
/// `offset` is the 0-based byte offset of the first byte that could not be accepted (the input's
/// length for a premature end). Messages are short and lower-case so they can go straight into a
/// 400 reply's `{"error": ...}`.
package struct JSONError: Error, Equatable, Sendable, CustomStringConvertible {
    package var offset: Int
    package var message: String

    package init(offset: Int, message: String) {
        self.offset = offset
        self.message = message
    }

    package var description: String { "\(message) at byte \(offset)" }
}
