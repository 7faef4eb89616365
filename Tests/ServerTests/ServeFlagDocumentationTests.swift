import BeaconCLI
import BeaconRuntime
import PosixIO
import Synchronization
import Testing

/// `beacon serve --help` is generated from `ServeFlag.all`; the README's flag table must describe the
/// same flags with the same placeholders, environment variables and defaults (CONTRACT: the README
/// documents the contract; where they differ, fix one).
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

    struct Row: Equatable, CustomStringConvertible {
        var placeholder: String
        var variable: String
        var defaultText: String
        var description: String { "\(placeholder) $\(variable) default \(defaultText)" }
    }

    /// Flag name to its row of the README table under "## `beacon serve`".
    static func readmeRows() throws -> [String: Row] {
        let text = String(decoding: try Files.read(RunningBeacon.repositoryRoot + "/README.md"), as: UTF8.self)
        var rows: [String: Row] = [:]
        var inSection = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("## ") { inSection = line == "## `beacon serve`" }
            guard inSection, line.hasPrefix("| `--") else { continue }
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).dropFirst()
                .map { $0.trimmingPrefix(" ").filter { $0 != "`" }.trimmingSuffix(" ") }
            let flag = cells[0].dropFirst(2).prefix { $0 != " " }
            let placeholder = cells[0].dropFirst(2 + flag.count).trimmingPrefix(" ")
            rows[String(flag)] = Row(
                placeholder: String(placeholder), variable: environmentVariable(in: String(cells[1])) ?? "",
                defaultText: String(cells[2]))
        }
        return rows
    }

    static func environmentVariable(in text: String) -> String? {
        guard let start = text.firstRange(of: "BEACON_") else { return nil }
        return String(text[start.lowerBound...].prefix { $0.isUppercase || $0 == "_" })
    }

    @Test func everyServeFlagIsInTheHelpAndTheREADMEAsTheTableSaysIt() throws {
        let help = Self.helpFlags()
        let readme = try Self.readmeRows()
        let defaults = ServeConfig()
        #expect(help.count == ServeFlag.all.count, "read \(help.count) flags from the help")
        #expect(help["udp-max-payload"] == "BEACON_UDP_MAX_PAYLOAD")
        for flag in ServeFlag.all {
            #expect(help[flag.name] == flag.environmentVariable ?? "", "--\(flag.name) in the help")
            let expected = Row(
                placeholder: flag.placeholder, variable: flag.environmentVariable ?? "",
                defaultText: flag.defaultText(defaults))
            #expect(readme[flag.name] == expected, "--\(flag.name): the table says \(expected)")
        }
        for flag in readme.keys where !ServeFlag.all.contains(where: { $0.name == flag }) {
            Issue.record("--\(flag) is in the README table but not a serve flag")
        }
    }
}

extension Substring {
    fileprivate func trimmingSuffix(_ character: Character) -> Substring {
        var result = self
        while result.last == character { result = result.dropLast() }
        return result
    }
}
