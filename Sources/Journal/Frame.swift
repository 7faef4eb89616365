/// The frame around every journal and snapshot entry: u32 payload length, u32 CRC-32C, payload.
///
/// The checksum covers the length bytes as well as the payload, so a flipped bit in the length
/// cannot make a reader skip to a wrong place and accept what it finds there. A frame is whole or
/// it is not there: a torn write fails the length or checksum test and is cut off at recovery.
package enum Frame {
    /// Length (u32 little-endian) and checksum (u32 little-endian).
    package static let headerSize = 8
    /// The largest payload a reader accepts. A maximal registration (64 meta entries of 255
    /// bytes) is about 16.6 KiB, so a larger length can only be damage.
    package static let maximumPayload = 1 << 16
    /// The smallest: a version and a kind byte.
    static let minimumPayload = 2

    /// Appends `entry`, framed, to `buffer`: the length slot is reserved, the payload encoded in
    /// place, and the slot and checksum filled in afterwards, so nothing is copied.
    package static func append(_ entry: JournalEntry, to buffer: inout [UInt8]) {
        let start = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: headerSize))
        entry.encode(into: &buffer)
        let length = UInt32(buffer.count - start - headerSize)
        precondition(Int(length) <= maximumPayload, "journal entry of \(length) bytes exceeds the frame limit")
        buffer.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: length.littleEndian, toByteOffset: start, as: UInt32.self)
            let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[start..<start + 4]))
            let total = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[(start + headerSize)...]), continuing: crc)
            raw.storeBytes(of: total.littleEndian, toByteOffset: start + 4, as: UInt32.self)
        }
    }

    /// What the bytes at the start of a buffer hold.
    package enum Check {
        /// A whole, intact frame of `length` bytes (header included) holding `entry`.
        case frame(JournalEntry, length: Int)
        /// Too few bytes for the frame the header announces (or for a header): more may follow.
        case incomplete
        /// Not a frame: an impossible length, a checksum mismatch, or a payload that does not decode.
        case damaged(String)
    }

    /// Examines the frame that starts at the first byte of `bytes`.
    package static func check(_ bytes: UnsafeRawBufferPointer) -> Check {
        guard bytes.count >= headerSize else { return .incomplete }
        let length = Int(UInt32(littleEndian: bytes.loadUnaligned(as: UInt32.self)))
        guard (minimumPayload...maximumPayload).contains(length) else { return .damaged("impossible length \(length)") }
        guard bytes.count - headerSize >= length else { return .incomplete }
        let payload = UnsafeRawBufferPointer(rebasing: bytes[headerSize..<headerSize + length])
        // A cheap test first: resynchronising after damage calls this at every byte offset.
        guard payload[0] == JournalEntry.version else { return .damaged("unknown version \(payload[0])") }
        let stored = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        let computed = CRC32C.checksum(payload, continuing: CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<4])))
        guard stored == computed else { return .damaged("checksum mismatch") }
        guard let entry = JournalEntry.decode(payload) else { return .damaged("undecodable record") }
        return .frame(entry, length: headerSize + length)
    }
}
