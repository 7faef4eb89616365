import PosixIO
import Testing

/// The architecture as STYLE.md states it, checked on the sources (the CoreDNS presubmit idea).
@Suite("Layering")
struct LayeringTests {
    static let sources = RunningBeacon.repositoryRoot + "/Sources"

    static func imports(of module: String) throws -> [(file: String, line: String)] {
        let directory = sources + "/" + module
        return try Files.list(directory).filter { $0.hasSuffix(".swift") }.flatMap { file in
            String(decoding: try Files.read(directory + "/" + file), as: UTF8.self)
                .split(separator: "\n").filter { $0.hasPrefix("import ") }.map { (file, String($0)) }
        }
    }

    @Test func onlyPosixIOImportsGlibc() throws {
        for module in try Files.list(Self.sources) where module != "PosixIO" && Files.isDirectory(Self.sources + "/" + module) {
            for (file, line) in try Self.imports(of: module) {
                #expect(line != "import Glibc", "\(module)/\(file) imports Glibc: system calls belong in PosixIO")
            }
        }
    }

    @Test(arguments: ["DNSWire", "ZoneFile", "Leases", "Authority", "HTTPWire", "Primitives"])
    func pureModulesImportNoIOOrFoundation(module: String) throws {
        let allowed: Set<String> = [
            "import DNSWire", "import ZoneFile", "import Leases", "import Primitives", "import Synchronization",
        ]
        for (file, line) in try Self.imports(of: module) {
            #expect(allowed.contains(line), "\(module)/\(file): \(line) (pure modules do no I/O)")
        }
    }
}
