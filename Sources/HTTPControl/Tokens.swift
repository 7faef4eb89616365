// HTTPControl: the HTTP side channel of CONTRACT.md: routing, JSON bodies, tokens, watches, and the
// connection handling on event loops. Handlers never block a loop: store writes and watches complete
// later through callbacks that hop back to the connection's loop.

import Leases

/// The `--token-file`: one token per line, optionally followed by the services it may write.
package struct TokenTable: Sendable {
    package struct Entry: Sendable, Equatable {
        package var token: [UInt8]
        /// Nil: every service.
        package var services: Set<String>?
    }

    package private(set) var entries: [Entry]

    /// Parses the file's text. Blank lines and comments are ignored: `#` starts a comment at the
    /// start of a line or after whitespace, so a token may contain `#` (`ci-token#2026`).
    /// - Throws: a message naming the line, for a start-up error.
    package init(parsing text: String, fileName: String) throws(TokenFileError) {
        entries = []
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = Self.withoutComment(Substring(rawLine))
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            guard let token = fields.first else { continue }
            guard fields.count <= 2 else {
                throw TokenFileError(message: "\(fileName):\(lineNumber): expected TOKEN [service,service...]")
            }
            guard token.utf8.count >= 8, token.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                throw TokenFileError(
                    message: "\(fileName):\(lineNumber): a token is at least 8 printable ASCII characters")
            }
            var services: Set<String>? = nil
            if fields.count == 2 {
                var set = Set<String>()
                for service in fields[1].split(separator: ",") {
                    guard let normalized = LabelRules.normalize(String(service)) else {
                        throw TokenFileError(message: "\(fileName):\(lineNumber): bad service name '\(service)'")
                    }
                    set.insert(normalized)
                }
                services = set
            }
            entries.append(Entry(token: Array(token.utf8), services: services))
        }
        guard !entries.isEmpty else { throw TokenFileError(message: "\(fileName): holds no token") }
    }

    /// `line` up to its comment, if any.
    static func withoutComment(_ line: Substring) -> Substring {
        var previous: Character? = nil
        for index in line.indices {
            let character = line[index]
            if character == "#", previous == nil || previous == " " || previous == "\t" { return line[..<index] }
            previous = character
        }
        return line
    }

    /// The entry whose token equals `presented`, compared in constant time against every entry so the
    /// timing does not reveal which tokens exist or how much of one matched.
    package func entry(for presented: [UInt8]) -> Entry? {
        var found: Entry? = nil
        for entry in entries where Self.constantTimeEquals(entry.token, presented) { found = entry }
        return found
    }

    package static func constantTimeEquals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        var difference = UInt64(lhs.count ^ rhs.count)
        let length = max(lhs.count, rhs.count)
        for index in 0..<length {
            let left = index < lhs.count ? lhs[index] : 0
            let right = index < rhs.count ? rhs[index] : 0
            difference |= UInt64(left ^ right)
        }
        return difference == 0
    }
}

package struct TokenFileError: Error, Sendable, CustomStringConvertible {
    package var message: String
    package var description: String { message }
}
