import Primitives
import CGlue
import Glibc
import Synchronization

/// Something an event loop calls when its descriptor is ready.
package protocol EventHandler: AnyObject {
    /// `events` holds the epoll bits that fired (`EventLoop.readable`, `.writable`, `.hangUp`).
    func handleEvents(_ events: UInt32)
}

/// One thread's epoll loop: descriptor readiness, tasks posted from other threads, and timers.
///
/// Everything but `execute` and `stop` must be called on the loop's own thread, from a handler,
/// a task or a timer; that is what makes the unsynchronised state below safe.
package final class EventLoop: @unchecked Sendable {
    package static let readable = UInt32(EPOLLIN.rawValue)
    package static let writable = UInt32(EPOLLOUT.rawValue)
    package static let hangUp = UInt32(EPOLLHUP.rawValue) | UInt32(EPOLLERR.rawValue) | UInt32(EPOLLRDHUP.rawValue)

    private let epoll: FileDescriptor
    private let wakeup: FileDescriptor
    private var handlers: [CInt: any EventHandler] = [:]
    private let tasks = Locked<[@Sendable () -> Void]>([])
    private let wakeupPending = Atomic<Bool>(false)
    private let stopping = Atomic<Bool>(false)
    private var timers = TimerQueue()
    /// The thread running the loop (0 before `run`): `pthread_t` is an integer on Linux.
    private let runningThread = Atomic<UInt>(0)

    package init() throws(SystemCallError) {
        epoll = FileDescriptor(taking: try Posix.epollCreate())
        wakeup = FileDescriptor(taking: try Posix.eventFD())
        try Posix.epollControl(
            epoll.rawValue, operation: EPOLL_CTL_ADD, fd: wakeup.rawValue, events: Self.readable,
            data: UInt64(UInt32(bitPattern: wakeup.rawValue)))
    }

    // MARK: - Descriptors (loop thread)

    /// Watches `fd` for `events` (level-triggered) and calls `handler` when they fire.
    package func register(_ fd: CInt, events: UInt32, handler: any EventHandler) throws(SystemCallError) {
        try Posix.epollControl(
            epoll.rawValue, operation: EPOLL_CTL_ADD, fd: fd, events: events | Self.hangUp,
            data: UInt64(UInt32(bitPattern: fd)))
        handlers[fd] = handler
    }

    package func modify(_ fd: CInt, events: UInt32) {
        try? Posix.epollControl(
            epoll.rawValue, operation: EPOLL_CTL_MOD, fd: fd, events: events | Self.hangUp,
            data: UInt64(UInt32(bitPattern: fd)))
    }

    /// Stops watching `fd`. Call before closing it.
    package func deregister(_ fd: CInt) {
        try? Posix.epollControl(epoll.rawValue, operation: EPOLL_CTL_DEL, fd: fd, events: 0, data: 0)
        handlers[fd] = nil
    }

    // MARK: - Tasks (any thread)

    /// Runs `task` on the loop thread soon.
    package func execute(_ task: @escaping @Sendable () -> Void) {
        tasks.withLock { $0.append(task) }
        if !wakeupPending.exchange(true, ordering: .acquiringAndReleasing) {
            var one: UInt64 = 1
            _ = withUnsafeBytes(of: &one) { try? Posix.write(wakeup.rawValue, from: $0) }
        }
    }

    /// Whether the caller is the loop's own thread (so it may touch loop state directly).
    package var isCurrentThread: Bool { runningThread.load(ordering: .acquiring) == UInt(pthread_self()) }

    /// Runs `task` now if on the loop thread, else on the loop thread soon.
    package func executeSoon(_ task: @escaping @Sendable () -> Void) {
        if isCurrentThread { task() } else { execute(task) }
    }

    /// Makes `run` return after the current iteration.
    package func stop() {
        stopping.store(true, ordering: .releasing)
        execute {}
    }

    // MARK: - Timers (loop thread)

    /// Calls `action` on the loop thread once `Posix.monotonicNanoseconds()` passes `deadline`.
    @discardableResult
    package func schedule(atNanoseconds deadline: Int64, _ action: @escaping () -> Void) -> TimerID {
        timers.add(deadline: deadline, action)
    }

    @discardableResult
    package func schedule(afterMilliseconds delay: Int, _ action: @escaping () -> Void) -> TimerID {
        schedule(atNanoseconds: Posix.monotonicNanoseconds() + Int64(delay) * 1_000_000, action)
    }

    package func cancel(_ timer: TimerID) { timers.cancel(timer) }

    // MARK: - Running

    /// Runs the loop on the calling thread until `stop()`.
    package func run() {
        runningThread.store(UInt(pthread_self()), ordering: .releasing)
        let capacity = 256
        let events = UnsafeMutableBufferPointer<epoll_event>.allocate(capacity: capacity)
        defer { events.deallocate() }
        while !stopping.load(ordering: .acquiring) {
            let timeout = timers.millisecondsUntilNext(now: Posix.monotonicNanoseconds())
            let count = (try? Posix.epollWait(epoll.rawValue, into: events, timeout: timeout)) ?? 0
            for index in 0..<count {
                let fd = CInt(bitPattern: UInt32(truncatingIfNeeded: events[index].data.u64))
                if fd == wakeup.rawValue {
                    drainWakeup()
                    continue
                }
                handlers[fd]?.handleEvents(events[index].events)
            }
            runTasks()
            let now = Posix.monotonicNanoseconds()
            // Popped one at a time: an action may schedule another timer.
            while let action = timers.popDue(now: now) { action() }
        }
        runTasks()
    }

    private func drainWakeup() {
        var value: UInt64 = 0
        _ = withUnsafeMutableBytes(of: &value) { try? Posix.read(wakeup.rawValue, into: $0) }
    }

    private func runTasks() {
        wakeupPending.store(false, ordering: .releasing)
        let pending = tasks.withLock { tasks -> [@Sendable () -> Void] in
            let taken = tasks
            tasks.removeAll(keepingCapacity: true)
            return taken
        }
        for task in pending { task() }
    }
}

/// Identifies a scheduled timer, for cancelling it.
package struct TimerID: Hashable, Sendable {
    fileprivate let value: UInt64
    /// A timer that was never scheduled; cancelling it does nothing.
    package static let none = TimerID(value: 0)
}

/// Timers by deadline; cancelled ones are skipped when they come up, and dropped all at once when
/// they outnumber the live ones, so many long timers cancelled early (watches whose clients left)
/// cannot grow the heap without bound. Every operation is O(log n), amortized for `cancel`.
package struct TimerQueue {
    private var heap = DeadlineHeap<UInt64>()
    private var actions: [UInt64: (deadline: Int64, action: () -> Void)] = [:]
    private var nextID: UInt64 = 0
    /// Below this many entries stale ones are left to be skipped.
    private static let compactionFloor = 1024

    package init() {}

    /// Timers scheduled and neither fired nor cancelled.
    package var pendingCount: Int { actions.count }
    /// Heap entries, stale ones included.
    package var storedCount: Int { heap.count }

    package mutating func add(deadline: Int64, _ action: @escaping () -> Void) -> TimerID {
        nextID += 1
        actions[nextID] = (deadline, action)
        heap.push(deadline: deadline, nextID)
        return TimerID(value: nextID)
    }

    package mutating func cancel(_ timer: TimerID) {
        guard actions.removeValue(forKey: timer.value) != nil else { return }
        if heap.count > Self.compactionFloor && heap.count > 2 * actions.count {
            var live = DeadlineHeap<UInt64>()
            for (id, timer) in actions { live.push(deadline: timer.deadline, id) }
            heap = live
        }
    }

    /// The epoll timeout: -1 (wait for events) when no timer is pending.
    package mutating func millisecondsUntilNext(now: Int64) -> CInt {
        while let top = heap.first, actions[top.payload] == nil { _ = heap.popFirst() }
        guard let top = heap.first else { return -1 }
        let delta = top.deadline - now
        return delta <= 0 ? 0 : CInt(min((delta + 999_999) / 1_000_000, 60_000))
    }

    /// The next action whose deadline has passed, removed from the queue.
    package mutating func popDue(now: Int64) -> (() -> Void)? {
        while let top = heap.first, top.deadline <= now {
            _ = heap.popFirst()
            if let timer = actions.removeValue(forKey: top.payload) { return timer.action }
        }
        return nil
    }
}

/// A weak reference that may cross threads but is only dereferenced on the loop that owns its object
/// (inside `EventLoop.execute`), which is what makes the unchecked conformance sound. Debug builds
/// check that promise on every access, as swift-nio's `NIOLoopBound` does.
package struct LoopBound<Value: AnyObject>: @unchecked Sendable {
    private weak var storage: Value?
    private let loop: EventLoop?

    /// - Parameter loop: the loop that owns `value` (nil only for objects not yet on one, in tests).
    package init(_ value: Value, loop: EventLoop?) {
        storage = value
        self.loop = loop
    }

    package var value: Value? {
        assert(loop?.isCurrentThread ?? true, "a LoopBound value was used off the loop that owns it")
        return storage
    }
}
