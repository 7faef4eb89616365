import Leases

/// How a node tells the others which leases it renewed, so that they learn renewals with one read
/// per batch instead of one `timetolive` per lease (a gateway read costs etcd about 0.5 ms of CPU).
///
/// A *cover lease* C is an etcd lease of TTL `t - margin`, granted by a node for the instances of TTL
/// `t`. Every lease L whose keep-alive (or grant) reached etcd after C's grant was confirmed ends no
/// earlier than C: L's countdown restarted later and runs `margin` seconds longer. So one read of
/// C's remaining time, measured as usual from before the request (`LeaseClock`), gives a deadline
/// that no lease it covers ends before. The margin absorbs what could reorder the two on the leader:
/// a grant confirmed by a follower before the leader applied it, and the election timeout a new
/// leader adds to every lease (1 s by default).
///
/// Epochs: a node keeps one cover lease per instance TTL for `epochNanoseconds`; when the epoch ends
/// it puts the key `/beacon/v1/renewals/<node>/<ttl>`, attached to C, whose value lists the leases
/// it renewed under C (only confirmed keep-alives). Other nodes see the put on their watch, read C
/// once, and extend those instances. A registration names the current cover lease in its value
/// (`SpecCodec`), so other nodes mirror it without a read of its own lease either. Markers vanish
/// with their cover lease; a marker a node misses (a watch gap) only costs it the fallback reads of
/// `LeaseRefresher`, never a wrong deadline.
package enum RenewalMarker {
    package static let prefix = "/beacon/v1/renewals/"
    /// How much shorter a cover lease is than the instance TTL it covers.
    package static let marginSeconds: UInt32 = 2
    /// Shorter TTLs get no cover lease (etcd's minimum lease is 2 s): other nodes read their leases.
    package static let minimumTTL: UInt32 = 5
    package static let epochNanoseconds: Int64 = 500_000_000
    /// Lease ids per marker value (at most 10 bytes each): below etcd's 1.5 MiB request limit.
    package static let maximumLeases = 100_000
    private static let magic = Array("BRM1".utf8)

    /// The TTL of the cover lease for instances of `ttl`, or nil when they get none.
    package static func coverTTL(forInstanceTTL ttl: UInt32) -> UInt32? {
        ttl >= minimumTTL ? ttl - marginSeconds : nil
    }

    package static func key(node: String, ttl: UInt32) -> String { "\(prefix)\(node)/\(ttl)" }

    /// The node in a marker key, or nil for any other key.
    package static func node(key: String) -> String? {
        guard key.hasPrefix(prefix) else { return nil }
        let rest = key.dropFirst(prefix.count)
        guard let slash = rest.firstIndex(of: "/"), slash != rest.startIndex else { return nil }
        return String(rest[..<slash])
    }

    /// The lease ids sorted, as LEB128 varints of the differences from the previous one (the
    /// first from 0). etcd hands out lease ids from a per-member counter, so neighbours differ by
    /// little: about 2-3 bytes a lease instead of 8, in every marker etcd keeps in its history.
    package static func encode(_ leases: [Int64]) -> [UInt8] {
        var bytes = magic
        bytes.reserveCapacity(magic.count + leases.count * 3)
        var previous: UInt64 = 0
        for lease in Set(leases.map { UInt64(bitPattern: $0) }).sorted() {
            var delta = lease - previous
            previous = lease
            while delta >= 0x80 {
                bytes.append(UInt8(truncatingIfNeeded: delta) | 0x80)
                delta >>= 7
            }
            bytes.append(UInt8(delta))
        }
        return bytes
    }

    /// The lease ids in a marker value; nil when it is not one (another version's format, or cut).
    package static func decode(_ bytes: [UInt8]) -> [Int64]? {
        guard bytes.count >= magic.count, Array(bytes[0..<magic.count]) == magic else { return nil }
        var leases: [Int64] = []
        var previous: UInt64 = 0
        var delta: UInt64 = 0
        var shift: UInt64 = 0
        for byte in bytes[magic.count...] {
            guard shift < 64 else { return nil }
            delta |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 != 0 {
                shift += 7
                continue
            }
            previous &+= delta
            leases.append(Int64(bitPattern: previous))
            delta = 0
            shift = 0
        }
        return shift == 0 ? leases : nil
    }
}

/// A node's current cover leases, one per instance TTL, and what each has covered so far (pure).
package struct MarkerEpochs: Sendable {
    package struct Epoch: Equatable, Sendable {
        package var cover: Int64
        /// When the grant of `cover` was sent (the epoch's age counts from here).
        package var startedAt: Instant
        /// Leases whose keep-alive under this cover etcd confirmed.
        package var renewed: [Int64] = []
    }

    private var epochs: [UInt32: Epoch] = [:]
    /// TTLs registrations asked a cover lease for.
    private var wanted = Set<UInt32>()

    package init() {}

    /// The cover lease for instances of `ttl` while its epoch runs; nil when there is none.
    package func current(instanceTTL ttl: UInt32, now: Instant) -> Int64? {
        guard let epoch = epochs[ttl], now.nanoseconds - epoch.startedAt.nanoseconds < RenewalMarker.epochNanoseconds
        else { return nil }
        return epoch.cover
    }

    /// Notes that a registration of `ttl` found no cover lease: the sender grants one.
    /// - Returns: whether the TTL gets cover leases at all.
    @discardableResult
    package mutating func want(instanceTTL ttl: UInt32) -> Bool {
        guard RenewalMarker.coverTTL(forInstanceTTL: ttl) != nil else { return false }
        wanted.insert(ttl)
        return true
    }

    /// Begins an epoch under a newly granted cover lease; returns the epoch it replaces, if any.
    package mutating func start(instanceTTL ttl: UInt32, cover: Int64, grantSentAt: Instant) -> Epoch? {
        wanted.remove(ttl)
        return epochs.updateValue(Epoch(cover: cover, startedAt: grantSentAt), forKey: ttl)
    }

    /// Notes a confirmed keep-alive of `lease` sent under `cover` (ignored if that epoch has ended).
    package mutating func record(instanceTTL ttl: UInt32, cover: Int64, renewed lease: Int64) {
        guard epochs[ttl]?.cover == cover, epochs[ttl]!.renewed.count < RenewalMarker.maximumLeases else { return }
        epochs[ttl]!.renewed.append(lease)
    }

    /// Ends the epochs that ran their time (or filled up) and returns those that renewed something:
    /// their markers are due.
    package mutating func closeEnded(now: Instant) -> [(ttl: UInt32, epoch: Epoch)] {
        var ended: [(UInt32, Epoch)] = []
        for (ttl, epoch) in epochs
        where now.nanoseconds - epoch.startedAt.nanoseconds >= RenewalMarker.epochNanoseconds
            || epoch.renewed.count >= RenewalMarker.maximumLeases
        {
            epochs[ttl] = nil
            if !epoch.renewed.isEmpty { ended.append((ttl, epoch)) }
        }
        return ended.sorted { $0.0 < $1.0 }
    }

    /// TTLs that want a cover lease and have no running epoch.
    package mutating func takeWanted(now: Instant) -> [UInt32] {
        let asked = wanted.filter { current(instanceTTL: $0, now: now) == nil }.sorted()
        wanted.removeAll()
        return asked
    }

    /// When the earliest epoch with renewals ends (the sender wakes then to publish its marker).
    package var nextClose: Instant? {
        epochs.values.filter { !$0.renewed.isEmpty }.map { $0.startedAt.adding(nanoseconds: RenewalMarker.epochNanoseconds) }.min()
    }
}
