/// Splits a TCP byte stream into DNS messages by their two-octet length prefix (RFC 1035 §4.2.2, RFC 7766 §8).
///
/// A value-type state machine: feed bytes with `append`, take whole messages with `next()`. It
/// holds at most one partial message; a zero length prefix is a protocol error the caller answers
/// by closing the connection.
package struct TCPFramer {
    private var buffer: [UInt8] = []
    private var start = 0

    package init() {}

    package mutating func append(_ bytes: some Sequence<UInt8>) {
        compact()
        buffer.append(contentsOf: bytes)
    }

    package mutating func append(_ bytes: UnsafeRawBufferPointer) {
        compact()
        buffer.append(contentsOf: bytes)
    }

    package enum Frame: Equatable {
        case message([UInt8])
        case needMore
        case zeroLength
    }

    package mutating func next() -> Frame {
        guard buffer.count - start >= 2 else { return .needMore }
        let length = Int(buffer[start]) << 8 | Int(buffer[start + 1])
        guard length > 0 else { return .zeroLength }
        guard buffer.count - start - 2 >= length else { return .needMore }
        let message = Array(buffer[(start + 2)..<(start + 2 + length)])
        start += 2 + length
        return .message(message)
    }

    /// Bytes received but not yet returned as a message.
    package var pendingByteCount: Int { buffer.count - start }

    private mutating func compact() {
        guard start > 0 else { return }
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
        } else {
            buffer.removeFirst(start)
        }
        start = 0
    }
}
