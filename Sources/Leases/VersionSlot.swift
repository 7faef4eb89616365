import Synchronization

/// A counter that rises whenever the data behind one name changes: a function's instances, or the
/// set of a service's functions.
///
/// Answer caches hold the slots an answer depended on and the versions they saw, so checking that a
/// cached answer is still right is a few atomic loads, with no lock and no lookup. A slot lives as
/// long as its function entry (entries are never removed), so the same name always has the same slot.
package final class VersionSlot: Sendable {
    private let counter = Atomic<UInt64>(0)

    package init() {}

    @inline(__always)
    package var version: UInt64 { counter.load(ordering: .acquiring) }

    func bump() { counter.add(1, ordering: .releasing) }
}
