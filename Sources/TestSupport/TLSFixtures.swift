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
        let directory = "/tmp/beacon-tls-fixtures-\(Posix.processID)-\(Posix.monotonicNanoseconds())"
        guard let pid = try? ChildProcess.spawn(["/bin/bash", root + "/Tests/Interop/tls-certs.sh", directory]),
            ChildProcess.wait(pid) == .exited(0)
        else { return nil }
        return directory
    }
}
