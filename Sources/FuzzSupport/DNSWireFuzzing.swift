import DNSWire
/// Fuzz entry points, kept as library functions so that `swift test` can replay corpora and crash
/// files through exactly the code a libFuzzer executable runs (TOOLCHAIN.md, "Fuzzing with libFuzzer").
///
/// The property checked is the one of hickory's `fuzz_targets/message.rs` and miekg's `fuzz.go`:
/// decoding arbitrary bytes never traps, and a message that decodes survives encode → decode
/// unchanged and re-encodes to the same bytes.

/// What one input did in the decode → encode → decode check.
package enum RoundTripOutcome: Equatable, Sendable {
    /// The bytes are not a DNS message; the error says why and where.
    case rejected(WireError)
    /// Decoded; its encoding decodes to an equal message, which encodes to the same bytes again.
    case fixedPoint
    /// Decoded, but its encoding exceeds 65535 octets. Expanding compression pointers can grow a
    /// message past the limit (RFC 1035 §4.2.2), so this is not a bug.
    case tooLongToReencode
    /// A bug in DNSWire: the message does not survive the round trip.
    case broken(String)
}

/// Decodes `bytes` and, when that succeeds, checks that encoding is a fixed point.
///
/// Beyond equality of messages (names compare case-insensitively), the second encoding must equal
/// the first byte for byte, and every owner and question name must print in presentation format
/// and parse back to identical wire bytes.
package func roundTripOutcome(_ bytes: [UInt8]) -> RoundTripOutcome {
    let message: Message
    do {
        message = try Message.decode(bytes)
    } catch {
        return .rejected(error)
    }
    let encoded: [UInt8]
    do {
        encoded = try message.encode()
    } catch .messageTooLong {
        return .tooLongToReencode
    } catch {
        return .broken("encoding a decoded message failed: \(error)")
    }
    let decodedAgain: Message
    do {
        decodedAgain = try Message.decode(encoded)
    } catch {
        return .broken("decoding the re-encoding failed: \(error); encoded \(RData.hex(encoded))")
    }
    guard decodedAgain == message else {
        return .broken("decode(encode(m)) != m; encoded \(RData.hex(encoded))")
    }
    guard let encodedAgain = try? decodedAgain.encode(), encodedAgain == encoded else {
        return .broken("encode(decode(encode(m))) != encode(m); encoded \(RData.hex(encoded))")
    }
    let names = message.questions.map(\.name)
        + (message.answers + message.authorities + message.additionals).map(\.name)
    for name in names {
        let text = name.description
        guard let parsed = try? DomainName(text), parsed.isIdentical(to: name) else {
            return .broken("name \(RData.hex(name.wire)) printed as \(text) does not parse back")
        }
    }
    // Presentation of every record must not trap either.
    for record in message.answers + message.authorities + message.additionals { _ = record.description }
    return .fixedPoint
}

/// The libFuzzer body for whole messages: traps on any round-trip failure, ignores rejected input.
package func fuzzMessage(_ bytes: [UInt8]) {
    if case .broken(let reason) = roundTripOutcome(bytes) {
        preconditionFailure("fuzzMessage: \(reason); input \(RData.hex(bytes))")
    }
}
