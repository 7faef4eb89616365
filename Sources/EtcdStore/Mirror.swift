import Primitives
import Leases
import PosixIO
import Synchronization

/// A node's copy of the etcd prefix: the `Registry` DNS answers from, plus, per id, the etcd revision
/// and lease behind it.
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
        /// The id behind each lease of a live record (renewal markers name leases, not ids).
        private(set) var idsByLease: [Int64: String] = [:]
        /// Every revision up to this one has come through the stream (or a re-read).
        var watermark: Int64 = 0
        var tombstones = 0

        /// Every change of a record goes through here, so that `idsByLease` follows `records`.
        mutating func set(_ record: MirrorRecord?, for id: String) {
            if let old = records[id], old.lease != 0, idsByLease[old.lease] == id { idsByLease[old.lease] = nil }
            records[id] = record
            if let record, record.lease != 0, !record.isTombstone { idsByLease[record.lease] = id }
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

    /// The id whose record holds `lease`, if any.
    package func id(lease: Int64) -> String? { state.withLock { $0.idsByLease[lease] } }

    /// Records that the stream has passed `revision` (an event that needed no change).
    package func advanceWatermark(to revision: Int64) {
        state.withLock { state in
            state.watermark = max(state.watermark, revision)
            forgetPassedTombstones(&state)
        }
    }

    /// Applies a put of `spec` under `lease` at `revision`. `deadline` nil means etcd no longer has
    /// the lease: the id is then removed (its delete event follows).
    /// - Returns: the registered instance; nil when the put was superseded or is not live.
    /// - Throws: the table's refusal (instance limits) for a local write; a stream put the table
    ///   refuses is logged.
    @discardableResult
    package func applyPut(
        _ spec: InstanceSpec, lease: Int64, revision: Int64, deadline: Instant?, origin: Origin, now: Instant
    ) throws(LeaseError) -> Instance? {
        let result: Result<Instance?, LeaseError> = state.withLock { state in
            let current = state.records[spec.id]
            defer { if origin == .stream { forgetPassedTombstones(&state) } }
            switch origin {
            case .local: if revision <= state.watermark { return .success(tableInstance(spec.id)) }
            case .stream: state.watermark = max(state.watermark, revision)
            }
            if let current, current.revision >= revision { return .success(tableInstance(spec.id)) }
            guard let deadline else {
                remove(spec.id, in: &state)
                return .success(nil)
            }
            let unchanged = current.map { $0.lease == lease && $0.spec == spec } ?? false
            if current?.isTombstone == true { state.tombstones -= 1 }
            state.set(MirrorRecord(revision: revision, lease: lease, spec: spec), for: spec.id)
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
                state.set(MirrorRecord(revision: revision, lease: 0, spec: nil), for: id)
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

    /// A lease was found renewed (by this node's keep-alive, or by another's, seen through
    /// `timetolive`): moves the local deadline later, re-adding an instance the sweep already removed.
    /// - Returns: the instance, or nil when the id is no longer under `lease`.
    package func renewed(id: String, lease: Int64, deadline: Instant, now: Instant) -> Instance? {
        state.withLock { state in renewed(id: id, lease: lease, deadline: deadline, now: now, in: state) }
    }

    /// Leases another node renewed (a renewal marker): each one's instance, if mirrored here, gets
    /// `deadline` unless it already has a later one.
    /// - Returns: how many instances that touched.
    package func renewed(leases: [Int64], deadline: Instant, now: Instant) -> Int {
        state.withLock { state in
            var count = 0
            for lease in leases {
                guard let id = state.idsByLease[lease] else { continue }
                if renewed(id: id, lease: lease, deadline: deadline, now: now, in: state) != nil { count += 1 }
            }
            return count
        }
    }

    /// Applies part of a full re-read as soon as its leases are known, so that a node mirroring many
    /// instances answers for the first ones early: each key newer than the mirror's record is
    /// registered, as the stream would. Removals wait for `reconcile`, which needs the whole snapshot.
    package func applyPartial(
        _ kvs: [EtcdKeyValue], prepared: [String: (spec: InstanceSpec?, deadline: Instant?)], now: Instant
    ) {
        state.withLock { state in
            for kv in kvs {
                guard let id = SpecCodec.id(key: kv.key), let entry = prepared[kv.key], let spec = entry.spec,
                    let deadline = entry.deadline
                else { continue }
                if let record = state.records[id], record.revision >= kv.modRevision { continue }
                applySnapshotPut(kv, id: id, spec: spec, deadline: deadline, in: &state, now: now)
            }
        }
    }

    /// Applies a full re-read at `revision`. `prepared` holds, for each key of the plan's `apply`, the
    /// decoded spec and the deadline looked up for its lease (nil spec: not a valid instance).
    /// - Returns: how many ids were added or changed, and how many removed.
    package func reconcile(
        snapshot: [EtcdKeyValue], revision: Int64, prepared: [String: (spec: InstanceSpec?, deadline: Instant?)],
        now: Instant
    ) -> (applied: Int, removed: Int) {
        state.withLock { state in
            // Planned again under the lock: local writes may have landed since the first plan.
            let plan = Reconcile.plan(local: state.records, snapshot: snapshot, revision: revision)
            for kv in plan.apply {
                guard let id = SpecCodec.id(key: kv.key) else { continue }
                guard let entry = prepared[kv.key], let spec = entry.spec, let deadline = entry.deadline else {
                    remove(id, in: &state)
                    continue
                }
                applySnapshotPut(kv, id: id, spec: spec, deadline: deadline, in: &state, now: now)
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

    private func renewed(id: String, lease: Int64, deadline: Instant, now: Instant, in state: State) -> Instance? {
        guard let record = state.records[id], record.lease == lease, let spec = record.spec else { return nil }
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
        state.set(MirrorRecord(revision: kv.modRevision, lease: kv.lease, spec: spec), for: id)
        if let previous, previous.lease == kv.lease, previous.spec == spec, let instance = tableInstance(id) {
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
