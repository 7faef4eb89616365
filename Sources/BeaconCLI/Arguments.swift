/// A flag a command accepts.
package struct FlagSpec: Sendable {
    package var name: String
    /// Whether it takes a value (`--dns HOST:PORT`) or is a switch (`--json`).
    package var takesValue: Bool
    /// The environment variable that supplies it when the flag is absent.
    package var environment: String?
    /// Whether it may be given several times (`--meta k=v --meta k2=v2`); read with `list(_:)`.
    package var repeatable: Bool

    package init(_ name: String, value: Bool = true, env: String? = nil, repeatable: Bool = false) {
        self.name = name
        takesValue = value
        environment = env
        self.repeatable = repeatable
    }
}

/// Parsed command-line arguments: flag values, positional arguments, and what followed `--`.
package struct ParsedArguments: Sendable {
    package var values: [String: String] = [:]
    /// Every value of a repeatable flag, in order.
    package var lists: [String: [String]] = [:]
    package var switches: Set<String> = []
    package var positionals: [String] = []
    package var passthrough: [String] = []
    /// Which flags came from the environment rather than the command line (for error messages).
    package var fromEnvironment: [String: String] = [:]

    package func value(_ name: String) -> String? { values[name] }
    package func list(_ name: String) -> [String] { lists[name] ?? [] }
    package func has(_ name: String) -> Bool { switches.contains(name) || values[name] != nil }

    /// How to name the source of a flag's value in an error.
    package func origin(_ name: String) -> String {
        fromEnvironment[name].map { "$" + $0 } ?? "--\(name)"
    }

    /// Parses `arguments` against `specs`; `--flag value` and `--flag=value` both work; a flag wins
    /// over its environment variable.
    package static func parse(_ arguments: [String], specs: [FlagSpec], environment: [String: String])
        throws(UsageError)
        -> ParsedArguments
    {
        var parsed = ParsedArguments()
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if argument == "--" {
                parsed.passthrough = Array(arguments[index...])
                break
            }
            guard argument.hasPrefix("--"), argument.count > 2 else {
                if argument.hasPrefix("-"), argument.count > 1, argument != "-" {
                    throw UsageError("unknown option \(argument)")
                }
                parsed.positionals.append(argument)
                continue
            }
            var name = String(argument.dropFirst(2))
            var inlineValue: String? = nil
            if let equals = name.firstIndex(of: "=") {
                inlineValue = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }
            guard let spec = specs.first(where: { $0.name == name }) else {
                throw UsageError("unknown option --\(name)")
            }
            if spec.takesValue {
                let value: String
                if let inlineValue {
                    value = inlineValue
                } else {
                    guard index < arguments.count else { throw UsageError("--\(name) needs a value") }
                    value = arguments[index]
                    index += 1
                }
                parsed.values[name] = value
                if spec.repeatable { parsed.lists[name, default: []].append(value) }
            } else {
                guard inlineValue == nil else { throw UsageError("--\(name) takes no value") }
                parsed.switches.insert(name)
            }
        }
        for spec in specs where parsed.values[spec.name] == nil && !parsed.switches.contains(spec.name) {
            guard let variable = spec.environment, let value = environment[variable] else { continue }
            parsed.fromEnvironment[spec.name] = variable
            if spec.takesValue {
                parsed.values[spec.name] = value
            } else if ["1", "true", "yes"].contains(value.lowercased()) {
                parsed.switches.insert(spec.name)
            }
        }
        return parsed
    }
}
