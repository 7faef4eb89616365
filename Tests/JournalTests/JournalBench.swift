import Primitives
import Journal
import Leases
import PosixIO
import Synchronization
import Testing

/// Hand-run figures, not timed assertions. Release mode:
///
///     JOURNAL_BENCH=throughput swift test -c release --filter JournalBench
///     JOURNAL_BENCH=prepare swift test -c release --filter JournalBench    # writes 1,000,000 instances
///     JOURNAL_BENCH=recover swift test -c release --filter JournalBench    # a fresh process recovers them
///
/// (At the time of writing a release build of PosixIO needs
/// `-Xswiftc -disable-upcoming-feature -Xswiftc MemberImportVisibility`: Log.swift and Signals.swift
/// use `timespec` members without importing CGlue.)
///
/// `JOURNAL_BENCH_DIR` picks the data directory (default /tmp/beacon-journal-bench); the
/// throughput run writes its journals under it too, so it measures that disk.
@Suite struct JournalBench {
    static let mode = Posix.environment()["JOURNAL_BENCH"] ?? ""
    static let directory = Posix.environment()["JOURNAL_BENCH_DIR"] ?? "/tmp/beacon-journal-bench"
    static let clock: @Sendable () -> Instant = { Instant(nanoseconds: Posix.monotonicNanoseconds()) }

    /// Functions per service (10 services): 100 puts 1,000 of the million instances in each function.
    static let functions = Int(Posix.environment()["JOURNAL_BENCH_FUNCTIONS"] ?? "") ?? 100

    /// A registration as a fleet would send it: 10 services × `functions`, derived ids, one meta entry.
    static func spec(_ index: Int) -> InstanceSpec {
        let service = "svc\(index % 10)"
        let function = "fn\((index / 10) % functions)"
        let address = IPAddress.v4(IPv4Address(0x0A00_0000 | UInt32(index & 0xFF_FFFF)))
        let port = UInt16(1024 + index % 50_000)
        return InstanceSpec(
            service: service, function: function,
            id: InstanceSpec.derivedID(service: service, function: function, address: address, port: port),
            address: address, port: port, ttl: 86_400, meta: [MetaEntry(key: "zone", value: "eu-\(index % 3)")])
    }

    // MARK: - Registrations per second

    @Test(.enabled(if: mode == "throughput"))
    func registrationsPerSecond() throws {
        print("threads  store    registrations/s  p50 ms  p99 ms  fsyncs  per fsync")
        for threads in [1, 16, 64] {
            for kind in ["journal", "memory"] {
                let path = "\(Self.directory)/throughput-\(threads)-\(Posix.monotonicNanoseconds())"
                try Files.makeDirectories(path)
                defer { TemporaryDirectory.removeTree(path) }
                let registry = Registry(limits: LeaseLimits(maxInstances: 10_000_000, maxInstancesPerFunction: 1_000_000))
                let store: any RegistrationStore =
                    kind == "journal"
                    ? try JournalStore.open(directory: path, registry: registry, log: Log(level: .warning), clock: Self.clock)
                    : MemoryStore(registry: registry, clock: Self.clock)
                let (rate, latencies) = Self.run(store, threads: threads, seconds: 3)
                let journal = store as? JournalStore
                journal?.close()
                let syncs = journal.map { Int($0.counters.syncs.load(ordering: .relaxed)) } ?? 0
                let records = journal.map { Int($0.counters.records.load(ordering: .relaxed)) } ?? 0
                print(
                    "\(pad(threads, 7))  \(kind.padding(7))  \(pad(Int(rate), 15))  \(latencies.p50.formatted3)  "
                        + "\(latencies.p99.formatted3)  \(pad(syncs, 6))  \(syncs == 0 ? "-" : "\(records / syncs)")")
            }
        }
    }

    /// Each thread registers new instances one at a time, waiting for each acknowledgement, as an
    /// HTTP client does; returns acknowledged registrations per second and latency percentiles.
    static func run(_ store: any RegistrationStore, threads: Int, seconds: Int) -> (Double, (p50: Double, p99: Double)) {
        let deadline = Posix.monotonicNanoseconds() + Int64(seconds) * 1_000_000_000
        let all = Locked<[Int64]>([])
        let start = Posix.monotonicNanoseconds()
        let handles = (0..<threads).map { thread in
            Threads.start(name: "bench-\(thread)") {
                let wakeup = try! Wakeup()
                let done = Atomic<Bool>(false)
                var latencies: [Int64] = []
                var index = thread
                while Posix.monotonicNanoseconds() < deadline {
                    let begin = Posix.monotonicNanoseconds()
                    done.store(false, ordering: .relaxed)
                    store.register(spec(index)) { result in
                        precondition(result.succeeded, "\(result)")
                        done.store(true, ordering: .releasing)
                        wakeup.signal()
                    }
                    while !done.load(ordering: .acquiring) { wakeup.wait() }
                    latencies.append(Posix.monotonicNanoseconds() - begin)
                    index += threads
                }
                all.withLock { $0.append(contentsOf: latencies) }
            }
        }
        for handle in handles { handle.join() }
        let elapsed = Double(Posix.monotonicNanoseconds() - start) / 1e9
        let sorted = all.withLock { $0 }.sorted()
        let percentile = { (fraction: Double) in Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]) / 1e6 }
        return (Double(sorted.count) / elapsed, (percentile(0.5), percentile(0.99)))
    }

    // MARK: - Recovering a million instances

    static let instances = 1_000_000

    @Test(.enabled(if: mode == "prepare"))
    func prepareAMillionInstances() throws {
        let path = "\(Self.directory)/million"
        TemporaryDirectory.removeTree(path)
        let registry = Registry()
        // Below the journal's 60 MB, so that the directory ends up as a snapshot plus a journal.
        let store = try JournalStore.open(
            directory: path, registry: registry, log: Log(level: .info), clock: Self.clock,
            options: JournalOptions(compactionThreshold: 40 << 20))
        let start = Posix.monotonicNanoseconds()
        let chunk = 50_000
        for base in stride(from: 0, to: Self.instances, by: chunk) {
            let pending = Atomic<Int>(chunk)
            let chunkDone = try Wakeup()
            for index in base..<base + chunk {
                store.register(Self.spec(index)) { result in
                    precondition(result.succeeded, "\(result)")
                    if pending.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 { chunkDone.signal() }
                }
            }
            while pending.load(ordering: .acquiring) > 0 { chunkDone.wait() }
        }
        store.close()
        let seconds = Double(Posix.monotonicNanoseconds() - start) / 1e9
        #expect(registry.count == Self.instances)
        print(
            "prepared \(registry.count) instances in \(seconds.formatted3) s through the store "
                + "(\(store.counters.syncs.load(ordering: .relaxed)) fsyncs, pause to copy the table for the snapshot "
                + "\((Double(store.counters.lastCompactionPauseNanoseconds.load(ordering: .relaxed)) / 1e6).formatted3) ms)")
        for name in try Files.list(path) {
            let fd = FileDescriptor(taking: try Posix.openForReading("\(path)/\(name)"))
            print("  \(name): \(try fd.withUnsafeDescriptor { (raw) throws(SystemCallError) in try Posix.fileSize(raw) }) bytes")
        }
    }

    @Test(.enabled(if: mode == "recover"))
    func recoverAMillionInstances() throws {
        let path = "\(Self.directory)/million"
        let before = try Self.memory()
        let registry = Registry()
        let start = Posix.monotonicNanoseconds()
        let store = try JournalStore.open(directory: path, registry: registry, log: Log(level: .info), clock: Self.clock)
        let seconds = Double(Posix.monotonicNanoseconds() - start) / 1e9
        let after = try Self.memory()
        #expect(registry.count == Self.instances)
        print(
            "recovered \(registry.count) instances (snapshot \(store.recovery.snapshotInstances), journal records "
                + "\(store.recovery.journalRecords)) in \(seconds.formatted3) s; VmRSS \(before.rss / 1024) → "
                + "\(after.rss / 1024) MiB, VmHWM \(after.peak / 1024) MiB")
        store.close()
        // The same files read, checksummed and decoded with nothing inserted anywhere: what
        // recovery costs apart from the table. (Not through a refusing Registry: Swift Testing
        // captures a backtrace for every thrown error, which would dominate the figure.)
        let readStart = Posix.monotonicNanoseconds()
        var entries = 0
        for name in try Files.list(path) {
            let bytes = try Files.read("\(path)/\(name)")
            bytes.withUnsafeBytes { raw in
                var offset = 0
                while case .frame(_, let length) = Frame.check(UnsafeRawBufferPointer(rebasing: raw[offset...])) {
                    offset += length
                    entries += 1
                }
            }
        }
        print("  reading, checksumming and decoding alone: \((Double(Posix.monotonicNanoseconds() - readStart) / 1e9).formatted3) s for \(entries) frames")
    }

    /// VmRSS and VmHWM from /proc/self/status, in KiB.
    static func memory() throws -> (rss: Int, peak: Int) {
        let text = String(decoding: try Files.read("/proc/self/status"), as: UTF8.self)
        func field(_ name: String) -> Int {
            guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(name) }) else { return -1 }
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? -1
        }
        return (field("VmRSS:"), field("VmHWM:"))
    }
}

private func pad(_ value: Int, _ width: Int) -> String { "\(value)".padding(width) }

extension String {
    fileprivate func padding(_ width: Int) -> String { self + String(repeating: " ", count: max(0, width - count)) }
}

extension Double {
    fileprivate var formatted3: String {
        let thousandths = Int((self * 1000).rounded())
        let fraction = "\(thousandths % 1000)"
        return "\(thousandths / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)"
    }
}
