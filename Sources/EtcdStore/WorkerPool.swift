import Primitives
import PosixIO
import Synchronization

/// A few threads that make blocking etcd calls for the HTTP event loops, which must never block.
///
/// Each worker is a `PosixIO.EventLoop` used only as a task queue, with its own `EtcdConnection`
/// (one keep-alive HTTP connection). Jobs for the same instance id always go to the same worker, so
/// a register followed by a deregister from one client reaches etcd in that order.
final class WorkerPool: Sendable {
    private let loops: [EventLoop]
    private let connections: [EtcdConnection]
    private let threads = Locked<[ThreadHandle]>([])

    init(count: Int, ring: EndpointRing) throws(SystemCallError) {
        var loops: [EventLoop] = []
        for _ in 0..<max(1, count) { loops.append(try EventLoop()) }
        self.loops = loops
        connections = loops.map { _ in EtcdConnection(ring: ring, timeoutMilliseconds: 2_000) }
    }

    func start() {
        let started = loops.enumerated().map { index, loop in
            Threads.start(name: "beacon-etcd-\(index)") { loop.run() }
        }
        threads.withLock { $0 = started }
    }

    /// Runs `job` on the worker that owns `key`, with that worker's connection.
    func submit(key: String, _ job: @escaping @Sendable (EtcdConnection) -> Void) {
        let index = Int(FNV1a.hash(key.utf8) % UInt64(loops.count))
        let connection = connections[index]
        loops[index].execute { job(connection) }
    }

    /// Finishes the jobs already queued, then stops the threads.
    func stop() {
        for loop in loops { loop.stop() }
        for thread in threads.withLock({ $0 }) { thread.join() }
    }
}
