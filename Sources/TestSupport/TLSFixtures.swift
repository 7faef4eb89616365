import PosixIO

/// Certificates for TLS tests, made once per test process by `Tests/Interop/tls-certs.sh` (Debian's
/// `openssl` command) in a fresh directory under /tmp: the CAs, server and client certificates that
/// script lists.
package enum TLSFixtures {
    /// The directory holding them, or nil when they cannot be made here (no `openssl` command, or no
    /// libssl.so.3 to test against): TLS tests are then disabled rather than failing.
    package static let directory: String? = make()

    package static var available: Bool { directory != nil }

    /// `name` in the fixture directory (`"ca.pem"`, `"server.key"`).
    package static func path(_ name: String) -> String { (directory ?? "/nonexistent") + "/" + name }

    private static func make() -> String? {
        guard (try? DynamicLibrary(opening: "libssl.so.3")) != nil else { return nil }
        var root = #filePath
        for _ in 0..<3 { root = String(root[..<root.lastIndex(of: "/")!]) }
        removeLeftovers()
        let directory = "/tmp/\(prefix)\(Posix.processID)-\(Posix.monotonicNanoseconds())"
        guard let pid = try? ChildProcess.spawn(["/bin/bash", root + "/Tests/Interop/tls-certs.sh", directory]),
            ChildProcess.wait(pid) == .exited(0)
        else { return nil }
        return directory
    }

    private static let prefix = "beacon-tls-fixtures-"

    /// A test process cannot remove its fixtures as it exits, so each one removes those of test
    /// processes that have ended (the process id is in the name).
    private static func removeLeftovers() {
        let stale = ((try? Files.list("/tmp")) ?? []).filter { name in
            guard name.hasPrefix(prefix), let pid = name.dropFirst(prefix.count).split(separator: "-").first else { return false }
            return !Files.exists("/proc/\(pid)")
        }
        guard !stale.isEmpty, let pid = try? ChildProcess.spawn(["rm", "-rf"] + stale.map { "/tmp/" + $0 }) else { return }
        _ = ChildProcess.wait(pid)
    }
}
