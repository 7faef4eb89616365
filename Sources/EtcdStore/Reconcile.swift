import Leases

/// What a node's mirror knows of one instance id.
package struct MirrorRecord: Equatable, Sendable {
    /// The etcd revision of the write this record reflects (the key's `mod_revision`, or the revision
    /// of the delete for a tombstone).
    package var revision: Int64
    /// The key's create revision: renewal markers name instance keys by it.
    package var created: Int64
    /// The registration; nil for a tombstone: an id this node deleted itself at `revision`, kept only
    /// until the watch passes that revision so that an older event still in flight cannot revive it.
    package var spec: InstanceSpec?

    package init(revision: Int64, created: Int64, spec: InstanceSpec?) {
        self.revision = revision
        self.created = created
        self.spec = spec
    }

    package var isTombstone: Bool { spec == nil }
}

/// What a full re-read means for the mirror.
package struct ReconcilePlan: Equatable, Sendable {
    /// Keys that are new or newer in etcd than in the mirror: to register (once the covers that
    /// vouch for them are read). Sorted by key.
    package var apply: [EtcdKeyValue] = []
    /// Ids the mirror holds that etcd no longer has (deleted while the watch was down): to
    /// deregister. Sorted.
    package var remove: [String] = []
    /// Tombstones the snapshot covers: to forget. Sorted.
    package var forget: [String] = []

    package init(apply: [EtcdKeyValue] = [], remove: [String] = [], forget: [String] = []) {
        self.apply = apply
        self.remove = remove
        self.forget = forget
    }
}

/// The pure part of a resynchronisation: mirror state plus a range read → actions.
///
/// The range read is a consistent snapshot at `revision`. A record newer than the snapshot was written
/// by this node after the read began and is left alone, whatever the snapshot says; so is one at the
/// same revision (nothing changed: no index bump, deadline kept). Everything else follows etcd.
package enum Reconcile {
    package static func plan(local: [String: MirrorRecord], snapshot: [EtcdKeyValue], revision: Int64)
        -> ReconcilePlan
    {
        var plan = ReconcilePlan()
        var present = Set<String>()
        for kv in snapshot {
            guard let id = SpecCodec.id(key: kv.key) else { continue }
            present.insert(id)
            if let record = local[id], record.revision >= kv.modRevision { continue }
            plan.apply.append(kv)
        }
        for (id, record) in local where !present.contains(id) && record.revision <= revision {
            if record.isTombstone { plan.forget.append(id) } else { plan.remove.append(id) }
        }
        plan.apply.sort { $0.key < $1.key }
        plan.remove.sort()
        plan.forget.sort()
        return plan
    }
}
