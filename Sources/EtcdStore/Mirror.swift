import Primitives
import Leases
import PosixIO
import Synchronization

/// A node's copy of the etcd prefix: the `Registry` DNS answers from, plus, per id, the etcd
/// revisions behind it. A record outlives its instance in the table: an instance whose covers have
/// ended is swept from the table, but its key stays in etcd (and here) until a node deletes it
/// (`KeyCollector`), and a late marker may still extend it.
///
/// Two sources write to it: the watch stream (every change, in revision order) and this node's own
/// writes (applied when etcd acknowledges them, so the node that took a registration answers for it
/// before its `200`). Revisions keep them from undoing each other:
/// - a stream event is skipped when the record is already at or past its revision;
/// - a local write is skipped when the stream (or a full re-read) has passed its revision, since it
///   then already carried that write or a later one;
/// - a local delete leaves a tombstone until the stream passes it, so an older put still in flight
///   on the stream cannot bring the id back.
/// The registry is only touched with the mirror's lock held, so the order decided here is the order
/// the registry sees.
package final class Mirror: Sendable {
    package enum Origin: Sendable {
        /// The watch stream or a full re-read.
        case stream
        /// A write this node made and etcd acknowledged.
        case local
    }

    private struct State {
        private(set) var records: [String: MirrorRecord] = [:]
        /// The id behind each create revision of a live record (renewal markers name those, not ids).
        private(set) var idsByCreated: [Int64: String] = [:]
        /// When something last vouched for each record: its put, or a marker naming it (whatever
        /// deadline that gave here: a short TTL's can be past on arrival). The key collector goes by it.
        var lastVouched: [String: Instant] = [:]
        /// Every revision up to this one has come through the stream (or a re-read).
        var watermark: Int64 = 0
        var tombstones = 0

        /// Every change of a record goes through here, so that `idsByCreated` follows `records`.
        mutating func set(_ record: MirrorRecord?, for id: String) {
            if let old = records[id], idsByCreated[old.created] == id { idsByCreated[old.created] = nil }
            records[id] = record
            if let record, !record.isTombstone { idsByCreated[record.created] = id }
            if record?.spec == nil { lastVouched[id] = nil }
        }

        mutating func removeRecord(_ id: String) -> MirrorRecord? {
            let old = records[id]
            if old != nil { set(nil, for: id) }
            return old
        }
    }

    package let registry: Registry
    private let state = Locked(State())
    private let log: Log

    package init(registry: Registry, log: Log) {
        self.registry = registry
        self.log = log
    }

    package func record(id: String) -> MirrorRecord? { state.withLock { $0.records[id] } }

    package var records: [String: MirrorRecord] { state.withLock { $0.records } }

    package var watermark: Int64 { state.withLock { $0.watermark } }

    /// The id whose key was created at `created`, if any.
    package func id(created: Int64) -> String? { state.withLock { $0.idsByCreated[created] } }

    /// Records that the stream has passed `revision` (an event that needed no change).
    package func advanceWatermark(to revision: Int64) {
        state.withLock { state in
            state.watermark = max(state.watermark, revision)
            forgetPassedTombstones(&state)
        }
    }

    /// Applies a put of `spec` (a key created at `created`) at `revision`, alive until `deadline`: a
    /// deadline already past (no live cover vouches for it) keeps the record but not the instance.
    /// - Returns: the registered instance; nil when the put was superseded or is not live.
    /// - Throws: the table's refusal (instance limits) for a local write; a stream put the table
    ///   refuses is logged.
    @discardableResult
    package func applyPut(
        _ spec: InstanceSpec, created: Int64, revision: Int64, deadline: Instant, origin: Origin, now: Instant
    ) throws(LeaseError) -> Instance? {
        let result: Result<Instance?, LeaseError> = state.withLock { state in
            let current = state.records[spec.id]
            defer { if origin == .stream { forgetPassedTombstones(&state) } }
            switch origin {
            case .local: if revision <= state.watermark { return .success(tableInstance(spec.id)) }
            case .stream: state.watermark = max(state.watermark, revision)
            }
            if let current, current.revision >= revision { return .success(tableInstance(spec.id)) }
            let unchanged = current.map { $0.created == created && $0.spec == spec } ?? false
            if current?.isTombstone == true { state.tombstones -= 1 }
            state.set(MirrorRecord(revision: revision, created: created, spec: spec), for: spec.id)
            state.lastVouched[spec.id] = now
            if unchanged, let instance = tableInstance(spec.id) {
                instance.extendDeadline(to: deadline)
                return .success(instance)
            }
            guard now < deadline else {
                _ = registry.deregister(id: spec.id, now: now)
                return .success(nil)
            }
            do throws(LeaseError) {
                return .success(try registry.register(spec, deadline: deadline, now: now).instance)
            } catch {
                if origin == .local {
                    state.set(current, for: spec.id)
                    if current?.isTombstone == true { state.tombstones += 1 }
                }
                return .failure(error)
            }
        }
        switch result {
        case .success(let instance): return instance
        case .failure(let error) where origin == .local: throw error
        case .failure(let error):
            log.warning("etcd: \(spec.id) cannot be mirrored: \(error)")
            return nil
        }
    }

    /// Applies the delete of `id` at `revision`.
    package func applyDelete(id: String, revision: Int64, origin: Origin, now: Instant) {
        state.withLock { state in
            let current = state.records[id]
            switch origin {
            case .local:
                if revision <= state.watermark { return }
                if let current, current.revision >= revision { return }
                remove(id, in: &state)
                state.set(MirrorRecord(revision: revision, created: 0, spec: nil), for: id)
                state.tombstones += 1
            case .stream:
                state.watermark = max(state.watermark, revision)
                defer { forgetPassedTombstones(&state) }
                if let current, current.revision > revision || (current.revision == revision && !current.isTombstone) {
                    return
                }
                remove(id, in: &state)
            }
        }
    }

    /// Instance keys another node renewed (a renewal marker, by create revision, for instances of
    /// `ttl`): each one's instance, if mirrored here with that TTL, gets `deadline` unless it already
    /// has a later one, and comes back to the table if the sweep had removed it.
    /// - Returns: how many instances that touched.
    package func renewed(created keys: [Int64], ttl: UInt32, deadline: Instant, now: Instant) -> Int {
        state.withLock { state in
            var count = 0
            for created in keys {
                // A registration replaced with another TTL keeps its key's create revision: covers of
                // the old TTL no longer vouch for it.
                guard let id = state.idsByCreated[created], state.records[id]?.spec?.ttl == ttl else { continue }
                state.lastVouched[id] = now
                if renewed(id: id, created: created, deadline: deadline, now: now, in: state) != nil { count += 1 }
            }
            return count
        }
    }

    /// The record of `id` if something vouched for it (a put, a marker) less than its TTL ago: its
    /// lease may still run although this node's deadline has passed. Other nodes learn renewals with
    /// etcd's whole-second rounding (and a marker's delay), which for a TTL of a second or two leaves
    /// them no deadline at all; a heartbeat that reaches such a node then renews it
    /// (`reinstate`) instead of answering 404.
    package func vouchedRecently(id: String, now: Instant) -> MirrorRecord? {
        state.withLock { state in
            guard let record = state.records[id], let spec = record.spec, let vouched = state.lastVouched[id],
                now.nanoseconds - vouched.nanoseconds < Int64(spec.ttl) * 1_000_000_000
            else { return nil }
            return record
        }
    }

    /// Extends `id` to `deadline` (a heartbeat this node took under its own cover), putting it back in
    /// the table if it had left; nil when the record no longer holds the key created at `created`.
    package func reinstate(id: String, created: Int64, deadline: Instant, now: Instant) -> Instance? {
        state.withLock { state in renewed(id: id, created: created, deadline: deadline, now: now, in: state) }
    }

    /// The records whose key may be deleted: no live instance in the table, and nothing has vouched
    /// for them for `KeyCollector.grace` plus `jitter`. Looked up in slices, so that neither the
    /// mirror's lock (heartbeats need it) nor the table's is held for long.
    package func collectable(now: Instant, jitter: Int64) -> [KeyCollector.Candidate] {
        let ids = state.withLock { Array($0.records.keys) }
        var found: [KeyCollector.Candidate] = []
        var start = 0
        while start < ids.count {
            let slice = ids[start..<min(ids.count, start + KeyCollector.scanSlice)]
            start += slice.count
            state.withLock { state in
                for id in slice {
                    if let candidate = collectable(id, now: now, jitter: jitter, in: state) { found.append(candidate) }
                }
            }
        }
        return found
    }

    /// Whether `candidate` still may be deleted (another node's delete, or a marker, may have come since).
    package func isCollectable(_ candidate: KeyCollector.Candidate, now: Instant, jitter: Int64) -> Bool {
        state.withLock { collectable(candidate.id, now: now, jitter: jitter, in: $0) == candidate }
    }

    private func collectable(_ id: String, now: Instant, jitter: Int64, in state: State) -> KeyCollector.Candidate? {
        guard let record = state.records[id], let spec = record.spec,
            now.nanoseconds - (state.lastVouched[id] ?? now).nanoseconds >= KeyCollector.grace(ttl: spec.ttl) + jitter,
            (tableInstance(id).map { $0.deadline <= now } ?? true)
        else { return nil }
        return KeyCollector.Candidate(id: id, revision: record.revision, ttl: spec.ttl)
    }

    /// Applies part of a full re-read as soon as its deadlines are known, so that a node mirroring many
    /// instances answers for the first ones early: each key newer than the mirror's record is
    /// registered, as the stream would. Removals wait for `reconcile`, which needs the whole snapshot.
    package func applyPartial(
        _ kvs: [EtcdKeyValue], prepared: [String: (spec: InstanceSpec?, deadline: Instant)], now: Instant
    ) {
        state.withLock { state in
            for kv in kvs {
                guard let id = SpecCodec.id(key: kv.key), let entry = prepared[kv.key], let spec = entry.spec
                else { continue }
                if let record = state.records[id], record.revision >= kv.modRevision { continue }
                applySnapshotPut(kv, id: id, spec: spec, deadline: entry.deadline, in: &state, now: now)
            }
        }
    }

    /// Applies a full re-read at `revision`. `prepared` holds, for each key of the plan's `apply`, the
    /// decoded spec and the deadline its covers give (nil spec: not a valid instance).
    /// - Returns: how many ids were added or changed, and how many removed.
    package func reconcile(
        snapshot: [EtcdKeyValue], revision: Int64, prepared: [String: (spec: InstanceSpec?, deadline: Instant)],
        now: Instant
    ) -> (applied: Int, removed: Int) {
        state.withLock { state in
            // Planned again under the lock: local writes may have landed since the first plan.
            let plan = Reconcile.plan(local: state.records, snapshot: snapshot, revision: revision)
            for kv in plan.apply {
                guard let id = SpecCodec.id(key: kv.key) else { continue }
                guard let entry = prepared[kv.key], let spec = entry.spec else {
                    remove(id, in: &state)
                    continue
                }
                applySnapshotPut(kv, id: id, spec: spec, deadline: entry.deadline, in: &state, now: now)
            }
            for id in plan.remove { remove(id, in: &state) }
            for id in plan.forget {
                state.set(nil, for: id)
                state.tombstones -= 1
            }
            state.watermark = max(state.watermark, revision)
            forgetPassedTombstones(&state)
            return (plan.apply.count, plan.remove.count)
        }
    }

    // MARK: - Internals (lock held)

    private func tableInstance(_ id: String) -> Instance? { registry.read { $0.byID[id] } }

    private func renewed(id: String, created: Int64, deadline: Instant, now: Instant, in state: State) -> Instance? {
        guard let record = state.records[id], record.created == created, let spec = record.spec else { return nil }
        if let instance = tableInstance(id), instance.spec == spec {
            instance.extendDeadline(to: deadline)
            return instance
        }
        guard now < deadline else { return nil }
        return try? registry.register(spec, deadline: deadline, now: now).instance
    }

    /// Records `kv` and registers it, keeping the instance (and its index) when only the revision moved.
    private func applySnapshotPut(
        _ kv: EtcdKeyValue, id: String, spec: InstanceSpec, deadline: Instant, in state: inout State, now: Instant
    ) {
        let previous = state.records[id]
        if previous?.isTombstone == true { state.tombstones -= 1 }
        state.set(MirrorRecord(revision: kv.modRevision, created: kv.createRevision, spec: spec), for: id)
        state.lastVouched[id] = now
        if let previous, previous.created == kv.createRevision, previous.spec == spec, let instance = tableInstance(id) {
            instance.extendDeadline(to: deadline)
        } else if now < deadline {
            do throws(LeaseError) {
                _ = try registry.register(spec, deadline: deadline, now: now)
            } catch {
                log.warning("etcd: \(id) cannot be mirrored: \(error)")
            }
        } else {
            _ = registry.deregister(id: id, now: now)
        }
    }

    private func remove(_ id: String, in state: inout State) {
        guard let record = state.removeRecord(id) else { return }
        if record.isTombstone {
            state.tombstones -= 1
        } else {
            _ = registry.deregister(id: id, now: .zero)
        }
    }

    private func forgetPassedTombstones(_ state: inout State) {
        guard state.tombstones > 0 else { return }
        let watermark = state.watermark
        for (id, record) in state.records where record.isTombstone && record.revision <= watermark {
            state.set(nil, for: id)
            state.tombstones -= 1
        }
    }
}
