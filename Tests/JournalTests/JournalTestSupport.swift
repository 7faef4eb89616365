import Primitives
import Journal
import Leases
import PosixIO
import Synchronization
import Testing

// MARK: - Directories

/// A fresh directory under /tmp, removed with everything in it when the value goes away.
final class TemporaryDirectory {
    let path: String
    private static let counter = Atomic<Int>(0)

    init() throws {
        let number = Self.counter.add(1, ordering: .relaxed).newValue
        path = "/tmp/beacon-journal-test-\(Posix.processID)-\(number)-\(Posix.monotonicNanoseconds())"
        try Files.makeDirectories(path)
    }

    deinit { Self.removeTree(path) }

    static func removeTree(_ path: String) {
        guard Files.isDirectory(path) else {
            try? Posix.unlink(path)
            return
        }
        for name in (try? Files.list(path)) ?? [] { removeTree("\(path)/\(name)") }
        try? Posix.removeDirectory(path)
    }

    func file(_ name: String) -> String { "\(path)/\(name)" }

    var names: [String] { (try? Files.list(path)) ?? [] }

    static func journal(_ generation: UInt64) -> String {
        let digits = String(generation, radix: 16)
        return "journal-" + String(repeating: "0", count: 16 - digits.count) + digits + ".log"
    }
}

func readFile(_ path: String) throws -> [UInt8] { try Files.read(path) }

func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    let descriptor = FileDescriptor(taking: try Posix.openForAppending(path, truncating: true))
    try descriptor.withUnsafeDescriptor { (fd) throws(SystemCallError) in try Files.writeAll(fd, bytes) }
}

/// The byte offsets at which each frame of a journal file starts, read from the length fields.
func frameOffsets(_ bytes: [UInt8]) -> [Int] {
    var offsets: [Int] = []
    var offset = 0
    while offset + Frame.headerSize <= bytes.count {
        offsets.append(offset)
        let length = Int(bytes[offset]) | Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2]) << 16
            | Int(bytes[offset + 3]) << 24
        offset += Frame.headerSize + length
    }
    return offsets
}

/// The entries of a framed file, in order (stopping at the first damaged frame).
func entries(of bytes: [UInt8]) -> [JournalEntry] {
    var result: [JournalEntry] = []
    var offset = 0
    while offset < bytes.count {
        guard case .frame(let entry, let length) = Array(bytes[offset...]).withUnsafeBytes({ Frame.check($0) }) else { break }
        result.append(entry)
        offset += length
    }
    return result
}

/// The offsets of the frames of `bytes` that hold registrations.
func registrationOffsets(_ bytes: [UInt8]) -> [Int] {
    frameOffsets(bytes).filter { offset in
        guard case .frame(.register, _) = Array(bytes[offset...]).withUnsafeBytes({ Frame.check($0) }) else { return false }
        return true
    }
}

/// Frames `entries` as the journal writes them.
func framed(_ entries: [JournalEntry]) -> [UInt8] {
    var bytes: [UInt8] = []
    for entry in entries { Frame.append(entry, to: &bytes) }
    return bytes
}

// MARK: - Time, logs, specs

/// A clock the test moves by hand.
final class TestClock: Sendable {
    private let nanoseconds = Atomic<Int64>(1_000_000_000_000)
    var now: Instant { Instant(nanoseconds: nanoseconds.load(ordering: .relaxed)) }
    func advance(seconds: Int64) { nanoseconds.add(seconds * 1_000_000_000, ordering: .relaxed) }
    var function: @Sendable () -> Instant { { [self] in now } }
}

/// A `Log` whose lines the test can read.
final class CapturedLog: Sendable {
    private final class Lines: Sendable {
        let value = Locked<[String]>([])
    }
    private let lines = Lines()
    let log: Log

    init() {
        let lines = self.lines
        log = Log(level: .debug, sink: { line in lines.value.withLock { $0.append(line) } })
    }

    var all: [String] { lines.value.withLock { $0 } }

    func contains(_ level: String, _ parts: String...) -> Bool {
        all.contains { line in line.contains(" \(level) ") && parts.allSatisfy { line.contains($0) } }
    }
}

/// A valid registration, varied by `index`: IPv4 and IPv6, with and without meta.
func makeSpec(_ index: Int, service: String = "orders", function: String? = nil, ttl: UInt32 = 30) -> InstanceSpec {
    let address: IPAddress =
        index % 3 == 0 ? .v6(IPv6Address(high: 0x2001_0db8_0000_0000, low: UInt64(index))) : .v4(IPv4Address(0x0A00_0000 | UInt32(index & 0xFFFFFF)))
    let meta = index % 2 == 0 ? [] : [MetaEntry(key: "zone", value: "eu-\(index % 7)"), MetaEntry(key: "v", value: "\(index)")]
    return InstanceSpec(
        service: service, function: function ?? "f\(index % 5)", id: "i\(index)", address: address,
        port: UInt16(1 + index % 60_000), ttl: ttl, priority: UInt16(index % 3), weight: UInt16(index % 11), meta: meta)
}

/// id → spec of every instance in the table.
func tableContents(_ registry: Registry) -> [String: InstanceSpec] {
    registry.read { table in table.byID.mapValues(\.spec) }
}

// MARK: - Waiting for a store

/// Runs one store call and waits for its completion (which comes on the writer thread).
func waitFor(_ call: (@escaping JournalStore.Completion) -> Void) -> Result<Instance, StoreError> {
    let wakeup = try! Wakeup()
    let result = Locked<Result<Instance, StoreError>?>(nil)
    call { outcome in
        result.withLock { $0 = outcome }
        wakeup.signal()
    }
    while true {
        if let outcome = result.withLock({ $0 }) { return outcome }
        wakeup.wait()
    }
}

extension RegistrationStore {
    @discardableResult
    func registerWaiting(_ spec: InstanceSpec) -> Result<Instance, StoreError> {
        waitFor { register(spec, completion: $0) }
    }

    @discardableResult
    func deregisterWaiting(_ id: String) -> Result<Instance, StoreError> {
        waitFor { deregister(id: id, completion: $0) }
    }
}

extension Result {
    var succeeded: Bool {
        if case .success = self { return true }
        return false
    }

    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}

/// Polls `condition` every millisecond for up to ten seconds.
func eventually(_ condition: () -> Bool) -> Bool {
    for _ in 0..<10_000 {
        if condition() { return true }
        Posix.sleep(milliseconds: 1)
    }
    return condition()
}

/// Opens a store on `directory` with a tiny compaction threshold unless told otherwise.
func openStore(
    _ directory: TemporaryDirectory, registry: Registry = Registry(), clock: TestClock = TestClock(),
    log: CapturedLog = CapturedLog(), threshold: Int = 64 << 20, fileSystem: any JournalFileSystem = PosixFileSystem()
) throws -> JournalStore {
    try JournalStore.open(
        directory: directory.path, registry: registry, log: log.log, clock: clock.function,
        options: JournalOptions(compactionThreshold: threshold, fileSystem: fileSystem))
}


/// What differs between two tables, by id, short enough to read in a failure message.
func differences(_ actual: [String: InstanceSpec], _ expected: [String: InstanceSpec]) -> [String] {
    var result: [String] = []
    for (id, spec) in expected.sorted(by: { $0.key < $1.key }) {
        if let found = actual[id] {
            if found != spec { result.append("\(id) differs") }
        } else {
            result.append("\(id) missing")
        }
    }
    for id in actual.keys.sorted() where expected[id] == nil { result.append("\(id) unexpected") }
    return result
}

/// SplitMix64: a seeded generator, so a failing fuzz iteration can be replayed.
typealias SeededGenerator = SplitMix64
