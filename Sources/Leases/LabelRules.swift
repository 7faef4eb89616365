/// The contract's rule for `service`, `function` and instance `id`: a DNS label of 1-63 characters
/// from `a-z`, `0-9` and `-`, not starting or ending with `-`, matched case-insensitively.
package enum LabelRules {
    /// Returns the lower-cased label, or nil when `text` breaks the rule.
    package static func normalize(_ text: String) -> String? {
        let bytes = text.utf8
        guard !bytes.isEmpty, bytes.count <= 63, bytes.first != UInt8(ascii: "-"), bytes.last != UInt8(ascii: "-")
        else { return nil }
        var hasUpper = false
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"): continue
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): hasUpper = true
            default: return nil
            }
        }
        // Already lower-case, the usual case: the same string, no copy.
        guard hasUpper else { return text }
        return String(decoding: bytes.map { $0 &- UInt8(ascii: "A") < 26 ? $0 | 0x20 : $0 }, as: UTF8.self)
    }

    /// A label that passed `normalize`, from wire bytes (lower-casing on the way), or nil.
    package static func normalize(bytes: some Collection<UInt8>) -> String? {
        normalize(String(decoding: bytes, as: UTF8.self))
    }

    package static let ruleDescription = "1-63 characters of a-z, 0-9 and '-', not starting or ending with '-'"
}
