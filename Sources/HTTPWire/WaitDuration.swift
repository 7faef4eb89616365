/// Parses the contract's `wait` parameter for blocking queries (`?index=N&wait=30s`), as Consul does:
/// `500ms`, `30s`, `5m`, or plain seconds (`30`).
///
/// Only non-negative whole numbers with one of those units are accepted: no sign, fraction, space,
/// other unit or empty number. The contract's 10-minute ceiling is the caller's to apply (clamp or
/// reject), since this only reads the syntax.
/// - Returns: milliseconds, or nil for anything else (including values too large for an `Int`).
package func parseWaitMilliseconds(_ text: some StringProtocol) -> Int? {
    var digits = Substring(text).utf8[...]
    let multiplier: Int
    if digits.last == 0x73 /* s */ {
        digits.removeLast()
        if digits.last == 0x6D /* m */ {
            digits.removeLast()
            multiplier = 1
        } else {
            multiplier = 1000
        }
    } else if digits.last == 0x6D /* m */ {
        digits.removeLast()
        multiplier = 60_000
    } else {
        multiplier = 1000
    }
    guard !digits.isEmpty, digits.count <= 15 else { return nil }
    var value = 0
    for b in digits {
        guard ASCII.isDigit(b) else { return nil }
        value = value * 10 + Int(b - ASCII.zero)
    }
    return value * multiplier
}
