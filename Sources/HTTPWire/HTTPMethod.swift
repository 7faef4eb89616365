/// A request method (RFC 9110 §9). Method names are case-sensitive, so `get` is `.other("get")`.
///
/// The common methods are cases so that parsing one allocates nothing and routing can `switch`.
package enum HTTPMethod: Hashable, Sendable, CustomStringConvertible {
    case get
    case head
    case post
    case put
    case delete
    case options
    case patch
    case other(String)

    package init(_ name: String) {
        switch name {
        case "GET": self = .get
        case "HEAD": self = .head
        case "POST": self = .post
        case "PUT": self = .put
        case "DELETE": self = .delete
        case "OPTIONS": self = .options
        case "PATCH": self = .patch
        default: self = .other(name)
        }
    }

    /// The method token in `range`, matched on bytes so the common methods make no string.
    init(_ raw: UnsafeRawBufferPointer, _ range: Range<Int>) {
        let s = range.lowerBound
        switch range.count {
        case 3 where raw[s] == 0x47 && raw[s + 1] == 0x45 && raw[s + 2] == 0x54: self = .get
        case 3 where raw[s] == 0x50 && raw[s + 1] == 0x55 && raw[s + 2] == 0x54: self = .put
        case 4 where raw[s] == 0x50 && raw[s + 1] == 0x4F && raw[s + 2] == 0x53 && raw[s + 3] == 0x54: self = .post
        case 4 where raw[s] == 0x48 && raw[s + 1] == 0x45 && raw[s + 2] == 0x41 && raw[s + 3] == 0x44: self = .head
        default: self = HTTPMethod(raw.string(range))
        }
    }

    package var rawValue: String {
        switch self {
        case .get: "GET"
        case .head: "HEAD"
        case .post: "POST"
        case .put: "PUT"
        case .delete: "DELETE"
        case .options: "OPTIONS"
        case .patch: "PATCH"
        case .other(let name): name
        }
    }

    package var description: String { rawValue }
}
