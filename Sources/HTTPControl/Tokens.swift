// HTTPControl: the HTTP side channel of CONTRACT.md: routing, JSON bodies, tokens, watches, and the
// connection handling on event loops. Handlers never block a loop: store writes and watches complete
// later through callbacks that hop back to the connection's loop.

import Leases

/// The `--token-file`: one token per line, optionally followed by the services it may write.
///
/// A line `cert:NAME [services]` names a client certificate instead: with `--tls-client-ca`, a
/// request without `Authorization` from a client whose verified certificate has NAME as its subject
/// CN or a subjectAltName (DNS, email or URI) gets that line's services. `cert:` lines are never
/// bearer tokens, so knowing a certificate's name is worth nothing without its key.
package struct TokenTable: Sendable {
    package struct Entry: Sendable, Equatable {
        package var token: [UInt8]
        /// Nil: every service.
        package var services: Set<String>?
    }

    package private(set) var entries: [Entry]
    /// `cert:` lines: `token` holds the certificate name.
    package private(set) var certificateEntries: [Entry] = []
    static let certificatePrefix = "cert:"

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
            let isCertificate = token.hasPrefix(Self.certificatePrefix)
            if isCertificate, token.count == Self.certificatePrefix.count {
                throw TokenFileError(message: "\(fileName):\(lineNumber): cert: needs the certificate's CN or subjectAltName")
            }
            guard isCertificate || token.utf8.count >= 8, token.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
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
            if isCertificate {
                certificateEntries.append(
                    Entry(token: Array(token.dropFirst(Self.certificatePrefix.count).utf8), services: services))
            } else {
                entries.append(Entry(token: Array(token.utf8), services: services))
            }
        }
        guard !entries.isEmpty || !certificateEntries.isEmpty else {
            throw TokenFileError(message: "\(fileName): holds no token")
        }
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

    /// What a verified client certificate with `names` may write: the union of the services of every
    /// `cert:` line naming one of them (every service if one such line lists none), or nil when no
    /// line names it.
    package func certificateGrant(for names: [String]) -> Entry? {
        var granted: Set<String>? = []
        var matched = false
        for entry in certificateEntries where names.contains(where: { Array($0.utf8) == entry.token }) {
            matched = true
            if let services = entry.services { granted?.formUnion(services) } else { granted = nil }
        }
        return matched ? Entry(token: [], services: granted) : nil
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
