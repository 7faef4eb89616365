import HTTPWire
import Leases
import PosixIO
import Synchronization

/// The blocking queries parked on one HTTP loop, woken by table changes or by their wait running out.
///
/// Lives on its loop's thread; `notify` is posted to it by the registry listener, and only when
/// some watch is parked (`parked`), so registrations cost nothing extra without watchers.
/// A watch leaves the hub exactly once: answered (`notify`), expired, or cancelled because its
/// connection closed. Each of those is O(1) plus a timer operation (O(log n)), so any number of
/// watches expiring or disconnecting together costs linear time, and the gauge counts only watches
/// whose clients are still there.
final class WatchHub: @unchecked Sendable {
    /// What a session keeps to cancel its parked watch.
    struct Ticket: Equatable {
        fileprivate let key: FunctionKey
        fileprivate let id: UInt64
    }

    private struct Waiter {
        // Unowned would do (a session cancels its watch before it goes away), but weak costs nothing
        // here and keeps a missed cancel from becoming a crash.
        weak var session: HTTPSession?
        var afterIndex: UInt64
        var timer: TimerID
    }

    private let loop: EventLoop
    private let api: ControlAPI
    private var waiters: [FunctionKey: [UInt64: Waiter]] = [:]
    private var nextID: UInt64 = 0
    /// How many watches are parked: read by the registry's listener on other threads, so it lives in
    /// an object of its own rather than behind the hub's loop-bound reference.
    let parked = ParkedWatches()

    init(loop: EventLoop, api: ControlAPI) {
        self.loop = loop
        self.api = api
    }

    /// Parks `session`'s request until the function's index passes `afterIndex` or `waitMilliseconds` pass.
    func park(_ session: HTTPSession, key: FunctionKey, afterIndex: UInt64, waitMilliseconds: Int) -> Ticket {
        nextID += 1
        let ticket = Ticket(key: key, id: nextID)
        let timer = loop.schedule(afterMilliseconds: waitMilliseconds) { [weak self] in self?.expire(ticket) }
        waiters[key, default: [:]][ticket.id] = Waiter(session: session, afterIndex: afterIndex, timer: timer)
        settle(added: 1)
        return ticket
    }

    /// Forgets a parked watch without answering it (its connection closed). Does nothing if it has left.
    func cancel(_ ticket: Ticket) {
        guard let waiter = remove(ticket) else { return }
        loop.cancel(waiter.timer)
    }

    /// Answers the watches of `keys` whose function moved past their index.
    func notify(_ keys: [FunctionKey]) {
        for key in keys {
            guard let parked = waiters[key] else { continue }
            let index = api.currentIndex(key)
            let ready = parked.filter { index > $0.value.afterIndex }
            guard !ready.isEmpty else { continue }
            waiters[key] = ready.count == parked.count ? nil : parked.filter { index <= $0.value.afterIndex }
            settle(added: -ready.count)
            let response = api.watchResponse(key)
            for waiter in ready.values {
                loop.cancel(waiter.timer)
                waiter.session?.finish(response)
            }
        }
    }

    private func expire(_ ticket: Ticket) {
        guard let waiter = remove(ticket) else { return }
        waiter.session?.finish(api.watchResponse(ticket.key))
    }

    private func remove(_ ticket: Ticket) -> Waiter? {
        guard let waiter = waiters[ticket.key]?.removeValue(forKey: ticket.id) else { return nil }
        if waiters[ticket.key]?.isEmpty == true { waiters[ticket.key] = nil }
        settle(added: -1)
        return waiter
    }

    private func settle(added: Int) {
        parked.count.add(added, ordering: .relaxed)
        api.counters.watchesWaiting.add(added, ordering: .relaxed)
    }
}

/// The number of watches a hub holds parked.
final class ParkedWatches: Sendable {
    let count = Atomic<Int>(0)
}
