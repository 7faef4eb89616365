import HTTPWire
import Leases
import PosixIO
import Synchronization

/// The blocking queries parked on one HTTP loop, woken by table changes or by their wait running out.
///
/// Lives on its loop's thread; `notify` is posted to it by the registry listener, and only when
/// some watch is parked (`parkedCount`), so registrations cost nothing extra without watchers.
final class WatchHub: @unchecked Sendable {
    private struct Waiter {
        weak var session: HTTPSession?
        var afterIndex: UInt64
        var timer: TimerID
        var token: UInt64
    }

    private let loop: EventLoop
    private let api: ControlAPI
    private var waiters: [FunctionKey: [Waiter]] = [:]
    private var nextToken: UInt64 = 0
    let parkedCount = Atomic<Int>(0)

    init(loop: EventLoop, api: ControlAPI) {
        self.loop = loop
        self.api = api
    }

    /// Parks `session`'s request until the function's index passes `afterIndex` or `waitMilliseconds` pass.
    func park(_ session: HTTPSession, key: FunctionKey, afterIndex: UInt64, waitMilliseconds: Int) {
        nextToken += 1
        let token = nextToken
        let timer = loop.schedule(afterMilliseconds: waitMilliseconds) { [weak self] in
            self?.expire(key: key, token: token)
        }
        waiters[key, default: []].append(Waiter(session: session, afterIndex: afterIndex, timer: timer, token: token))
        parkedCount.add(1, ordering: .relaxed)
        api.counters.watchesWaiting.add(1, ordering: .relaxed)
    }

    /// Answers the watches of `keys` whose function moved past their index.
    func notify(_ keys: [FunctionKey]) {
        for key in keys {
            guard let parked = waiters[key] else { continue }
            let index = api.currentIndex(key)
            var remaining: [Waiter] = []
            var ready: [Waiter] = []
            for waiter in parked {
                if waiter.session == nil { continue }
                if index > waiter.afterIndex { ready.append(waiter) } else { remaining.append(waiter) }
            }
            waiters[key] = remaining.isEmpty ? nil : remaining
            settle(removed: parked.count - remaining.count)
            guard !ready.isEmpty else { continue }
            let response = api.watchResponse(key)
            for waiter in ready {
                loop.cancel(waiter.timer)
                waiter.session?.finish(response)
            }
        }
    }

    private func expire(key: FunctionKey, token: UInt64) {
        guard var parked = waiters[key], let position = parked.firstIndex(where: { $0.token == token }) else { return }
        let waiter = parked.remove(at: position)
        waiters[key] = parked.isEmpty ? nil : parked
        settle(removed: 1)
        waiter.session?.finish(api.watchResponse(key))
    }

    private func settle(removed: Int) {
        guard removed > 0 else { return }
        parkedCount.subtract(removed, ordering: .relaxed)
        api.counters.watchesWaiting.subtract(removed, ordering: .relaxed)
    }
}
