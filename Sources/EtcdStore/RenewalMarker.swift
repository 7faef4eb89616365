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
/// Epochs (`MarkerEpochs`): a node replaces the cover lease of a TTL every half second while it is
/// used; once a replaced one has settled, the node puts the key `/beacon/v1/renewals/<node>/<ttl>`,
/// attached to C, whose value lists the leases it renewed under C (only confirmed keep-alives). Other nodes see the put on their watch, read C
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

/// A node's cover leases and what each has covered (pure): one current cover per instance TTL,
/// replaced every `epochNanoseconds` while it is used; a replaced one waits `settleNanoseconds` for
/// keep-alives still in flight under it, then its marker is due.
package struct MarkerEpochs: Sendable {
    package struct Epoch: Equatable, Sendable {
        package var ttl: UInt32
        package var cover: Int64
        /// When the grant of `cover` was sent (its age counts from here).
        package var startedAt: Instant
        /// Leases whose keep-alive under this cover etcd confirmed.
        package var renewed: [Int64] = []
        package var used = false
        package var replacedAt: Instant?
    }

    /// How often a cover in use is replaced (and so how often markers go out).
    package static let epochNanoseconds: Int64 = 500_000_000
    /// How long a cover may serve when it could not be replaced (etcd slow): an older one would make
    /// other nodes' deadlines needlessly short, so keep-alives then go uncovered.
    package static let coverServesNanoseconds: Int64 = 2_000_000_000
    /// How long a replaced cover waits for confirmations of keep-alives sent under it.
    package static let settleNanoseconds: Int64 = 500_000_000

    private var epochs: [Int64: Epoch] = [:]
    private var current: [UInt32: Int64] = [:]
    private var wanted = Set<UInt32>()

    package init() {}

    /// The cover lease for instances of `ttl`, noted as used; nil (and the TTL noted as wanted, when
    /// it gets covers at all) when none is young enough.
    package mutating func use(instanceTTL ttl: UInt32, now: Instant) -> Int64? {
        if let cover = current[ttl], var epoch = epochs[cover],
            now.nanoseconds - epoch.startedAt.nanoseconds < Self.coverServesNanoseconds
        {
            epoch.used = true
            epochs[cover] = epoch
            return cover
        }
        if RenewalMarker.coverTTL(forInstanceTTL: ttl) != nil { wanted.insert(ttl) }
        return nil
    }

    /// The TTLs that need a new cover lease now: those wanted, and those whose cover was used and has
    /// served its epoch.
    package mutating func rotationsDue(now: Instant) -> [UInt32] {
        var due = wanted
        wanted.removeAll()
        for (ttl, cover) in current {
            guard let epoch = epochs[cover], epoch.used,
                now.nanoseconds - epoch.startedAt.nanoseconds >= Self.epochNanoseconds
            else { continue }
            due.insert(ttl)
        }
        return due.sorted()
    }

    /// Begins an epoch under a newly granted cover; the one it replaces settles.
    package mutating func start(instanceTTL ttl: UInt32, cover: Int64, grantSentAt: Instant) {
        if let old = current[ttl] { epochs[old]?.replacedAt = grantSentAt }
        current[ttl] = cover
        epochs[cover] = Epoch(ttl: ttl, cover: cover, startedAt: grantSentAt)
    }

    /// Notes a confirmed keep-alive of `lease` sent under `cover` (dropped if that epoch is gone: its
    /// marker went out; other nodes then read the lease when they need to).
    package mutating func record(cover: Int64, renewed lease: Int64) {
        guard epochs[cover] != nil, epochs[cover]!.renewed.count < RenewalMarker.maximumLeases else { return }
        epochs[cover]!.renewed.append(lease)
    }

    /// Removes the epochs that are done: replaced ones that have settled, and current ones too old
    /// to serve. Returns those that renewed something: their markers are due.
    package mutating func closeSettled(now: Instant) -> [Epoch] {
        var done: [Epoch] = []
        for (cover, epoch) in epochs {
            let settled = epoch.replacedAt.map { now.nanoseconds - $0.nanoseconds >= Self.settleNanoseconds } ?? false
            let expired = now.nanoseconds - epoch.startedAt.nanoseconds >= Self.coverServesNanoseconds + Self.settleNanoseconds
            guard settled || expired else { continue }
            epochs[cover] = nil
            if current[epoch.ttl] == cover { current[epoch.ttl] = nil }
            if !epoch.renewed.isEmpty { done.append(epoch) }
        }
        return done.sorted { ($0.ttl, $0.cover) < ($1.ttl, $1.cover) }
    }
}
