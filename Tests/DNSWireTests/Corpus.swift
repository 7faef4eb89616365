import PosixIO

/// Real DNS messages to replay: the subset committed next to these tests, and the full shared
/// corpus when the checkout sits where it can be found.
enum Corpus {
    /// `Tests/DNSWireTests/Corpus/`, found from this file's path so it works wherever the repository is cloned.
    static let committedDirectory: String = {
        var path = #filePath
        while let last = path.last, last != "/" { path.removeLast() }
        return path + "Corpus"
    }()

    /// The shared 9,775-message corpus (CZ-NIC/dns-fuzzing), or nil when absent (as in CI).
    ///
    /// Looks at `$BEACON_DNS_CORPUS`, then `<repository>/../shared/corpus/dns-packets` (the main
    /// checkout's layout), then `/work/shared/corpus/dns-packets` (worktrees).
    static let sharedDirectory: String? = {
        var repository = committedDirectory
        for _ in 0..<3 {
            while let last = repository.last, last != "/" { repository.removeLast() }
            repository.removeLast()
        }
        var candidates: [String] = []
        if let override = Posix.environment()["BEACON_DNS_CORPUS"] { candidates.append(override) }
        candidates.append(repository + "/../shared/corpus/dns-packets")
        candidates.append("/work/shared/corpus/dns-packets")
        return candidates.first { Files.isDirectory($0) }
    }()

    /// The `.pkt` files of a directory, sorted by name, with their bytes.
    static func messages(in directory: String) -> [(name: String, bytes: [UInt8])] {
        let names = (try? Files.list(directory)) ?? []
        return names.filter { $0.hasSuffix(".pkt") }.sorted().map { file in
            (file, (try? Files.read(directory + "/" + file)) ?? [])
        }
    }

    /// The committed subset, loaded once.
    static let committed: [(name: String, bytes: [UInt8])] = messages(in: committedDirectory)
}
