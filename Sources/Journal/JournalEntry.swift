import Primitives
import Leases

/// One record of the journal or the snapshot: the payload of one frame.
///
/// The journal holds registrations, renewals, deregistrations, marks and epochs in commit order.
/// A snapshot is a `snapshotHeader`, a `mark`, one `register` per live instance, and a
/// `snapshotEnd` whose count proves the file was written to the end.
///
/// Times (`deadline`, `Mark.time`) are milliseconds on the writing run's timeline: its wall clock
/// read once at start, advanced by the monotonic clock. Within a run they only move forward,
/// whatever happens to the wall clock; each run starts with an `epoch` that rebases what it
/// recovered onto its own timeline, so recovery never compares times from two runs.
package enum JournalEntry: Equatable, Sendable {
    /// The whole registration, so that replaying it needs nothing else, and its lease's end as it
    /// was written (nil in records from before deadlines were journaled).
    case register(InstanceSpec, deadline: Int64? = nil)
    /// A lease moved to `deadline` by heartbeats. Written lazily, before the previously written
    /// deadline comes near, not per heartbeat (see `Journal.swift`).
    case renew(id: String, deadline: Int64)
    case deregister(id: String)
    /// The server was running at `time`, with every renewal due until shortly after it written.
    case mark(Mark)
    /// A run started at `time`: every instance recovered at that point got a lease of its TTL from
    /// `time`. `index` is the first watch index of the run.
    case epoch(time: Int64, index: UInt64)
    /// Opens a snapshot: it holds the table as of the start of journal `generation`.
    case snapshotHeader(generation: UInt64)
    /// Closes a snapshot of `count` instances; the generation again (nil in older snapshots), so a
    /// damaged header does not leave the snapshot's place in the sequence unknown.
    case snapshotEnd(count: UInt64, generation: UInt64? = nil)

    /// A liveness mark.
    package struct Mark: Equatable, Sendable {
        package var time: Int64
        /// The highest watch index handed out so far.
        package var index: UInt64
        /// Written by a clean stop, after the last renewals: recovery can then be exact.
        package var finalStop: Bool

        package init(time: Int64, index: UInt64, finalStop: Bool) {
            self.time = time
            self.index = index
            self.finalStop = finalStop
        }
    }

    /// The first byte of every payload. A reader refuses any other value rather than guess.
    package static let version: UInt8 = 1

    /// The second byte of every payload.
    enum Kind: UInt8 {
        case register = 1
        case deregister = 2
        case registerWithDeadline = 3
        case renew = 4
        case mark = 5
        case epoch = 6
        case snapshotHeader = 0x10
        case snapshotEnd = 0x11
        case snapshotEndWithGeneration = 0x12
    }

    // MARK: - Encoding

    /// Appends the payload (not the frame) to `buffer`.
    ///
    /// Layout, integers little-endian, `label` = u8 length + bytes:
    /// - register: version, kind 1 (no deadline) or 3, label service, label function, label id, u8
    ///   family (4 or 6) + 4 or 16 address bytes (network order), u16 port, u32 ttl, u16 priority,
    ///   u16 weight, u8 meta count, then per entry u8 key length + key, u8 value length + value;
    ///   kind 3 ends with i64 deadline.
    /// - renew: version, kind 4, label id, i64 deadline. deregister: version, kind 2, label id.
    /// - mark: version, kind 5, i64 time, u64 index, u8 flags (1: final stop).
    /// - epoch: version, kind 6, i64 time, u64 index.
    /// - snapshot header: version, kind 0x10, u64 generation. Snapshot end: version, kind 0x11,
    ///   u64 count, or kind 0x12, u64 count, u64 generation.
    package func encode(into buffer: inout [UInt8]) {
        buffer.append(Self.version)
        switch self {
        case .register(let spec, let deadline):
            buffer.append(deadline == nil ? Kind.register.rawValue : Kind.registerWithDeadline.rawValue)
            Self.appendSpec(spec, to: &buffer)
            if let deadline { Self.appendInteger(deadline, to: &buffer) }
        case .renew(let id, let deadline):
            buffer.append(Kind.renew.rawValue)
            Self.appendShortString(id, to: &buffer)
            Self.appendInteger(deadline, to: &buffer)
        case .deregister(let id):
            buffer.append(Kind.deregister.rawValue)
            Self.appendShortString(id, to: &buffer)
        case .mark(let mark):
            buffer.append(Kind.mark.rawValue)
            Self.appendInteger(mark.time, to: &buffer)
            Self.appendInteger(mark.index, to: &buffer)
            buffer.append(mark.finalStop ? 1 : 0)
        case .epoch(let time, let index):
            buffer.append(Kind.epoch.rawValue)
            Self.appendInteger(time, to: &buffer)
            Self.appendInteger(index, to: &buffer)
        case .snapshotHeader(let generation):
            buffer.append(Kind.snapshotHeader.rawValue)
            Self.appendInteger(generation, to: &buffer)
        case .snapshotEnd(let count, let generation):
            buffer.append(generation == nil ? Kind.snapshotEnd.rawValue : Kind.snapshotEndWithGeneration.rawValue)
            Self.appendInteger(count, to: &buffer)
            if let generation { Self.appendInteger(generation, to: &buffer) }
        }
    }

    private static func appendSpec(_ spec: InstanceSpec, to buffer: inout [UInt8]) {
        appendShortString(spec.service, to: &buffer)
        appendShortString(spec.function, to: &buffer)
        appendShortString(spec.id, to: &buffer)
        switch spec.address {
        case .v4(let v4):
            buffer.append(4)
            appendInteger(v4.value.byteSwapped, to: &buffer)  // network order, as written in a packet
        case .v6(let v6):
            buffer.append(6)
            appendInteger(v6.high.byteSwapped, to: &buffer)
            appendInteger(v6.low.byteSwapped, to: &buffer)
        }
        appendInteger(spec.port, to: &buffer)
        appendInteger(spec.ttl, to: &buffer)
        appendInteger(spec.priority, to: &buffer)
        appendInteger(spec.weight, to: &buffer)
        buffer.append(UInt8(spec.meta.count))
        for entry in spec.meta {
            appendShortString(entry.key, to: &buffer)
            appendShortString(entry.value, to: &buffer)
        }
    }

    /// Strings here are validated labels (at most 63 bytes) or meta parts (at most 254): a u8 fits.
    private static func appendShortString(_ text: String, to buffer: inout [UInt8]) {
        let count = text.utf8.count
        precondition(count <= 255, "a journal string longer than 255 bytes: InstanceSpec was not validated")
        buffer.append(UInt8(count))
        buffer.append(contentsOf: text.utf8)
    }

    private static func appendInteger<T: FixedWidthInteger>(_ value: T, to buffer: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { buffer.append(contentsOf: $0) }
    }

    // MARK: - Decoding

    /// Decodes one payload, or returns nil when it is not exactly one well-formed entry.
    ///
    /// Every length is checked against what remains, and a `register` must satisfy the same rules
    /// `RegistrationRequest.validated()` enforces, so bytes that pass a checksum by chance still
    /// cannot put an invalid instance in the table. Never traps.
    package static func decode(_ payload: UnsafeRawBufferPointer) -> JournalEntry? {
        var cursor = ByteCursor(payload)
        guard cursor.readByte() == version, let rawKind = cursor.readByte(), let kind = Kind(rawValue: rawKind)
        else { return nil }
        let entry: JournalEntry
        switch kind {
        case .register:
            guard let spec = decodeSpec(&cursor) else { return nil }
            entry = .register(spec)
        case .registerWithDeadline:
            guard let spec = decodeSpec(&cursor), let deadline = cursor.readInteger(Int64.self) else { return nil }
            entry = .register(spec, deadline: deadline)
        case .renew:
            guard let id = cursor.readLabel(), let deadline = cursor.readInteger(Int64.self) else { return nil }
            entry = .renew(id: id, deadline: deadline)
        case .deregister:
            guard let id = cursor.readLabel() else { return nil }
            entry = .deregister(id: id)
        case .mark:
            guard let time = cursor.readInteger(Int64.self), let index = cursor.readInteger(UInt64.self),
                let flags = cursor.readByte(), flags <= 1
            else { return nil }
            entry = .mark(Mark(time: time, index: index, finalStop: flags == 1))
        case .epoch:
            guard let time = cursor.readInteger(Int64.self), let index = cursor.readInteger(UInt64.self) else { return nil }
            entry = .epoch(time: time, index: index)
        case .snapshotHeader:
            guard let generation = cursor.readInteger(UInt64.self) else { return nil }
            entry = .snapshotHeader(generation: generation)
        case .snapshotEnd:
            guard let count = cursor.readInteger(UInt64.self) else { return nil }
            entry = .snapshotEnd(count: count)
        case .snapshotEndWithGeneration:
            guard let count = cursor.readInteger(UInt64.self), let generation = cursor.readInteger(UInt64.self) else {
                return nil
            }
            entry = .snapshotEnd(count: count, generation: generation)
        }
        return cursor.isAtEnd ? entry : nil
    }

    package static func decode(_ payload: [UInt8]) -> JournalEntry? { payload.withUnsafeBytes { decode($0) } }

    private static func decodeSpec(_ cursor: inout ByteCursor) -> InstanceSpec? {
        guard let service = cursor.readLabel(), let function = cursor.readLabel(), let id = cursor.readLabel()
        else { return nil }
        let address: IPAddress
        switch cursor.readByte() {
        case 4:
            guard let value = cursor.readInteger(UInt32.self) else { return nil }
            address = .v4(IPv4Address(value.byteSwapped))
        case 6:
            guard let high = cursor.readInteger(UInt64.self), let low = cursor.readInteger(UInt64.self) else { return nil }
            address = .v6(IPv6Address(high: high.byteSwapped, low: low.byteSwapped))
        default:
            return nil
        }
        guard let port = cursor.readInteger(UInt16.self), port >= 1,
            let ttl = cursor.readInteger(UInt32.self), (1...InstanceSpec.maximumTTL).contains(ttl),
            let priority = cursor.readInteger(UInt16.self), let weight = cursor.readInteger(UInt16.self),
            let metaCount = cursor.readByte(), Int(metaCount) <= InstanceSpec.maximumMetaEntries
        else { return nil }
        var meta: [MetaEntry] = []
        meta.reserveCapacity(Int(metaCount))
        for _ in 0..<metaCount {
            // A linear scan for repeated keys: at most 64 entries, and no Set to allocate per record.
            guard let key = cursor.readString(), let value = cursor.readString(), !key.isEmpty,
                !key.utf8.contains(UInt8(ascii: "=")),
                key.utf8.count + 1 + value.utf8.count <= InstanceSpec.maximumMetaStringBytes,
                !meta.contains(where: { $0.key == key })
            else { return nil }
            meta.append(MetaEntry(key: key, value: value))
        }
        return InstanceSpec(
            service: service, function: function, id: id, address: address, port: port, ttl: ttl, priority: priority,
            weight: weight, meta: meta)
    }
}

/// Reads a payload front to back; every read checks what remains and returns nil past the end.
struct ByteCursor {
    private let bytes: UnsafeRawBufferPointer
    private var offset = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var isAtEnd: Bool { offset == bytes.count }

    mutating func readByte() -> UInt8? {
        guard offset < bytes.count else { return nil }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func readInteger<T: FixedWidthInteger>(_: T.Type) -> T? {
        let size = MemoryLayout<T>.size
        guard bytes.count - offset >= size else { return nil }
        defer { offset += size }
        return T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    /// A u8 length and that many bytes of valid UTF-8.
    mutating func readString() -> String? {
        guard let bytes = readBytes() else { return nil }
        // `String(decoding:)` repairs invalid UTF-8 rather than failing (and is much cheaper than
        // `String(validating:)`, which is not specialised for raw buffers); the journal only ever
        // holds valid UTF-8, so any repair means damage.
        let text = String(decoding: bytes, as: UTF8.self)
        return text.utf8.elementsEqual(bytes) ? text : nil
    }

    /// A label as the journal writes it: already valid and lower-case under `LabelRules` (1-63 of
    /// `a-z`, `0-9`, `-`, not starting or ending with `-`). Checked on the bytes, without building
    /// the intermediate strings `LabelRules.normalize` would.
    mutating func readLabel() -> String? {
        guard let bytes = readBytes(), (1...63).contains(bytes.count), bytes.first != UInt8(ascii: "-"),
            bytes.last != UInt8(ascii: "-")
        else { return nil }
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"): continue
            default: return nil
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A u8 length and that many bytes.
    private mutating func readBytes() -> UnsafeRawBufferPointer? {
        guard let length = readByte(), bytes.count - offset >= Int(length) else { return nil }
        defer { offset += Int(length) }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + Int(length)])
    }
}
