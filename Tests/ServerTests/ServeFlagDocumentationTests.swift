import BeaconCLI
import PosixIO
import Synchronization
import Testing

/// `beacon serve --help` and the README's flag table describe the same flags with the same
/// environment variables (CONTRACT: the README documents the contract; where they differ, fix one).
@Suite struct ServeFlagDocumentationTests {
    /// Flag name to environment variable, from the help text: each entry starts with `  --name` and
    /// names its variable in `[$VARIABLE...]`, possibly on a continuation line.
    static func helpFlags() -> [String: String] {
        let captured = Mutex("")
        let console = Console(out: { text in captured.withLock { $0 += text } }, err: { _ in })
        let status = CommandLineTool.main(["beacon", "serve", "--help"], environment: [:], console: console)
        #expect(status == 0)
        var flags: [String: String] = [:]
        var current: String? = nil
        for line in captured.withLock({ $0 }).split(separator: "\n") {
            let trimmed = line.drop { $0 == " " }
            if trimmed.hasPrefix("--"), line.hasPrefix("  --") {
                current = String(trimmed.dropFirst(2).prefix { $0 != " " })
                if flags[current!] == nil { flags[current!] = "" }  // a flag with no variable (--check)
            }
            if let flag = current, flags[flag] == "", let variable = environmentVariable(in: String(line)) {
                flags[flag] = variable
            }
        }
        flags["help"] = nil
        return flags
    }

    /// Flag name to environment variable, from the rows of the README table under "## `beacon serve`".
    static func readmeFlags() throws -> [String: String] {
        let text = String(decoding: try Files.read(RunningBeacon.repositoryRoot + "/README.md"), as: UTF8.self)
        var flags: [String: String] = [:]
        var inSection = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("## ") { inSection = line == "## `beacon serve`" }
            guard inSection, line.hasPrefix("| `--") else { continue }
            let cells = line.split(separator: "|").map { $0.trimmingPrefix(" ") }
            let flag = String(cells[0].dropFirst(3).prefix { $0 != " " && $0 != "`" })
            flags[flag] = environmentVariable(in: String(cells[1])) ?? ""
        }
        return flags
    }

    static func environmentVariable(in text: String) -> String? {
        guard let start = text.firstRange(of: "BEACON_") else { return nil }
        return String(text[start.lowerBound...].prefix { $0.isUppercase || $0 == "_" })
    }

    @Test func everyServeFlagIsInTheHelpAndTheREADMEWithTheSameVariable() throws {
        let help = Self.helpFlags()
        let readme = try Self.readmeFlags()
        #expect(help.count >= 20, "read \(help.count) flags from the help")
        #expect(help["udp-max-payload"] == "BEACON_UDP_MAX_PAYLOAD")
        for (flag, variable) in help {
            #expect(readme[flag] == variable, "--\(flag): help says \(variable), README says \(readme[flag] ?? "nothing")")
        }
        for flag in readme.keys where help[flag] == nil {
            Issue.record("--\(flag) is in the README table but not in serve --help")
        }
    }
}
