import DNSWire

/// Bytes from hex text, ignoring whitespace and `#` comments to the end of the line, so golden
/// vectors can be written one annotated field per line.
func hex(_ text: String) -> [UInt8] {
    var bytes: [UInt8] = []
    var high: UInt8? = nil
    var inComment = false
    for scalar in text.unicodeScalars {
        if inComment {
            if scalar == "\n" { inComment = false }
            continue
        }
        if scalar == "#" {
            inComment = true
            continue
        }
        if scalar == " " || scalar == "\n" || scalar == "\t" { continue }
        let nibble: UInt8
        switch scalar {
        case "0"..."9": nibble = UInt8(scalar.value - 0x30)
        case "a"..."f": nibble = UInt8(scalar.value - 0x61 + 10)
        case "A"..."F": nibble = UInt8(scalar.value - 0x41 + 10)
        default: preconditionFailure("not a hex digit: \(scalar)")
        }
        if let pending = high {
            bytes.append(pending << 4 | nibble)
            high = nil
        } else {
            high = nibble
        }
    }
    precondition(high == nil, "odd number of hex digits")
    return bytes
}

/// Lower-case hex, for failure messages.
func hexString(_ bytes: some Sequence<UInt8>) -> String {
    let digits = Array("0123456789abcdef")
    var text = ""
    for byte in bytes {
        text.append(digits[Int(byte >> 4)])
        text.append(digits[Int(byte & 0xF)])
    }
    return text
}

/// A name from presentation text that the test knows to be valid.
func name(_ text: String) -> DomainName {
    do {
        return try DomainName(text)
    } catch {
        preconditionFailure("bad test name \(text): \(error)")
    }
}

/// The wire form of a name, for building messages by hand.
func wire(_ text: String) -> [UInt8] { name(text).wire }

/// A DNS header as bytes: ID, flags, then QDCOUNT, ANCOUNT, NSCOUNT, ARCOUNT.
func header(id: UInt16 = 0, flags: UInt16 = 0, qd: UInt16 = 0, an: UInt16 = 0, ns: UInt16 = 0, ar: UInt16 = 0)
    -> [UInt8]
{
    [id, flags, qd, an, ns, ar].flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
}

/// Decodes and returns the error, or nil when decoding succeeded.
func decodeError(_ bytes: [UInt8]) -> WireError? {
    do {
        _ = try Message.decode(bytes)
        return nil
    } catch {
        return error
    }
}
