import Leases

/// How the nodes share the heartbeats they take, without a write per heartbeat (issue 19).
///
/// Instance keys carry no lease of their own. A node answers heartbeats under a *cover lease*: an
/// etcd lease of the instance TTL that it granted itself, usually within the last half second (at
/// most a quarter of the TTL, or 2 s, before the heartbeat arrived: `MarkerEpochs.servesNanoseconds`).
/// The heartbeat extends the instance to the cover's end, measured from before its grant was sent
/// (`LeaseClock`), so never past a lease etcd holds. Every half second (longer for long
/// TTLs: `MarkerEpochs`) the node replaces its cover and puts a *marker*: the key
/// `/beacon/v1/renewals/<node>/<ttl>/<cover>`, attached to that cover, listing the instance keys
/// (by create revision) renewed under it. Other nodes see the put on their watch, read the cover's
/// remaining time once, and extend every listed instance to it; a node reading everything after a
/// gap reads the live markers with the keys. A marker vanishes with its cover, so the markers in etcd
/// are exactly the renewals that still count: an instance lives, for every node, until the latest
/// cover that vouches for it (its registration's, named in its value, or a marker's) ends.
/// etcd's cost, per node and TTL in use, is a grant and a marker each epoch (and the cover's expiry,
/// which deletes the marker), whatever the number of heartbeats.
package enum RenewalMarker {
    package static let prefix = "/beacon/v1/renewals/"
    /// Instance keys per marker value (a few bytes each): far below etcd's 1.5 MiB request limit.
    package static let maximumRenewals = 200_000
    private static let magic = Array("BRM2".utf8)

    package static func key(node: String, ttl: UInt32, cover: Int64) -> String { "\(prefix)\(node)/\(ttl)/\(cover)" }

    /// The node and instance TTL in a marker key, or nil for any other key.
    package static func parse(key: String) -> (node: String, ttl: UInt32)? {
        guard key.hasPrefix(prefix) else { return nil }
        let parts = key.dropFirst(prefix.count).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, let ttl = UInt32(parts[1]), ttl > 0, Int64(parts[2]) != nil else {
            return nil
        }
        return (String(parts[0]), ttl)
    }

    /// The create revisions sorted, as LEB128 varints of the differences from the previous one (the
    /// first from 0): a byte or two each instead of 8, in every marker etcd keeps in its history.
    package static func encode(_ leases: some Collection<Int64>) -> [UInt8] {
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

    /// The create revisions in a marker value; nil when it is not one (another version's format, or cut).
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
/// replaced every epoch while it is used; a replaced one's marker is due at once (a renewal is
/// recorded under the same lock that hands out the cover, so none can arrive late).
package struct MarkerEpochs: Sendable {
    /// What a heartbeat or registration gets: the cover it is alive under, and until when.
    package struct CoverUse: Equatable, Sendable {
        package var cover: Int64
        package var deadline: Instant
    }

    package struct Epoch: Equatable, Sendable {
        package var ttl: UInt32
        package var cover: Int64
        /// When the grant of `cover` was sent (its age counts from here).
        package var startedAt: Instant
        /// What etcd granted (at least `ttl`: etcd raises TTLs under its minimum).
        package var grantedTTL: Int64
        /// Create revisions of the instance keys renewed under this cover.
        package var renewed = Set<Int64>()
        package var used = false
        package var replaced = false

        /// The end of the cover as this node counts it: never later than etcd's, and no longer than
        /// the instance TTL from the grant.
        package var deadline: Instant { LeaseClock.deadline(sentAt: startedAt, renewedTTL: grantedTTL, specTTL: ttl) }
    }

    /// How often a cover in use is replaced: half a second, or a sixtieth of a long TTL (so that no
    /// more than about 60 markers per node and TTL are alive at once), or an eighth of a TTL under 4 s
    /// (so that the next cover is granted well before this one stops serving).
    package static func epochNanoseconds(ttl: UInt32) -> Int64 {
        min(max(500_000_000, Int64(ttl) * 1_000_000_000 / 60), Int64(ttl) * 125_000_000)
    }

    /// How old a cover may be and still serve a heartbeat: a quarter of the TTL (the heartbeat then
    /// gets at least three quarters of it), and four epochs (when it could not be replaced, etcd is
    /// slow or gone, and heartbeats had better wait for a grant than be stretched on an old cover).
    package static func servesNanoseconds(ttl: UInt32) -> Int64 {
        min(Int64(ttl) * 250_000_000, 4 * epochNanoseconds(ttl: ttl))
    }

    private var epochs: [Int64: Epoch] = [:]
    private var current: [UInt32: Int64] = [:]
    private var wanted = Set<UInt32>()

    package init() {}

    /// The current cover for instances of `ttl`, if young enough, noted as used; `renewing` (a create
    /// revision) is recorded for its marker. Nil (and the TTL noted as wanted) when none serves.
    package mutating func use(instanceTTL ttl: UInt32, renewing created: Int64? = nil, now: Instant) -> CoverUse? {
        guard serves(instanceTTL: ttl, now: now), let cover = current[ttl] else {
            wanted.insert(ttl)
            return nil
        }
        if created != nil, epochs[cover]!.renewed.count >= RenewalMarker.maximumRenewals {
            wanted.insert(ttl)  // a full marker: the caller waits for the next cover
            return nil
        }
        // In place: a copy of the epoch would copy its renewal set on every heartbeat.
        epochs[cover]!.used = true
        if let created { epochs[cover]!.renewed.insert(created) }
        return CoverUse(cover: cover, deadline: epochs[cover]!.deadline)
    }

    /// Whether a cover for `ttl` can serve a heartbeat now.
    package func serves(instanceTTL ttl: UInt32, now: Instant) -> Bool {
        age(ttl, now: now).map { $0 < Self.servesNanoseconds(ttl: ttl) } ?? false
    }

    /// Whether the cover for `ttl` is younger than an epoch (granted since a rotation was found due).
    package func isFresh(instanceTTL ttl: UInt32, now: Instant) -> Bool {
        age(ttl, now: now).map { $0 < Self.epochNanoseconds(ttl: ttl) } ?? false
    }

    private func age(_ ttl: UInt32, now: Instant) -> Int64? {
        guard let cover = current[ttl], let epoch = epochs[cover] else { return nil }
        return now.nanoseconds - epoch.startedAt.nanoseconds
    }

    /// The TTLs that need a new cover lease now: those wanted, and those whose cover was used and has
    /// served its epoch.
    package mutating func rotationsDue(now: Instant) -> [UInt32] {
        // A TTL wanted by a caller that then granted a cover itself needs no other.
        var due = wanted.filter { !serves(instanceTTL: $0, now: now) }
        wanted.removeAll()
        for (ttl, cover) in current {
            guard let epoch = epochs[cover], epoch.used,
                now.nanoseconds - epoch.startedAt.nanoseconds >= Self.epochNanoseconds(ttl: ttl)
            else { continue }
            due.insert(ttl)
        }
        return due.sorted()
    }

    /// Begins an epoch under a newly granted cover; the one it replaces is closed.
    package mutating func start(instanceTTL ttl: UInt32, cover: Int64, grantedTTL: Int64, grantSentAt: Instant) {
        if let old = current[ttl] { epochs[old]?.replaced = true }
        current[ttl] = cover
        epochs[cover] = Epoch(ttl: ttl, cover: cover, startedAt: grantSentAt, grantedTTL: grantedTTL)
    }

    /// Removes the epochs that are done: replaced ones, and current ones too old to serve. Returns
    /// those that renewed something: their markers are due.
    package mutating func closeDone(now: Instant) -> [Epoch] {
        var done: [Epoch] = []
        for (cover, epoch) in epochs {
            let tooOld = now.nanoseconds - epoch.startedAt.nanoseconds >= Self.servesNanoseconds(ttl: epoch.ttl)
            guard epoch.replaced || tooOld else { continue }
            epochs[cover] = nil
            if current[epoch.ttl] == cover { current[epoch.ttl] = nil }
            if !epoch.renewed.isEmpty { done.append(epoch) }
        }
        return done.sorted { ($0.ttl, $0.cover) < ($1.ttl, $1.cover) }
    }
}
