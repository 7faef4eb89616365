import Clients
import HTTPWire

/// `beacon register`, `beacon heartbeat ID` and `beacon deregister ID`: one call each, its reply as a
/// table (or the server's JSON with `--json`); exit 0 on a 2xx, 1 with the server's message otherwise.
enum InstanceCommands {
    static let registerSpecs = RegistrationFlags.specs + ClientOptions.specs
    static let instanceSpecs = ClientOptions.specs

    static let registerHelp = """
        Usage: beacon register --service S --function F --address A --port P [flags]

        Registers an instance (POST /v1/register) and prints its id and lease. Registering an existing
        id replaces it; without --id the server derives one from service, function, address and port.
        Keep it alive with `beacon heartbeat ID` (or run the service under `beacon sidecar`).

          --service S          service name (a DNS label)
          --function F         function name (a DNS label): the instance answers F.S.<domain>
          --address A          IPv4 or IPv6 literal to publish
          --port P             port to publish in SRV answers
          --id ID              instance id (a DNS label) [default: derived by the server]
          --ttl N              lease in seconds, 1-86400 [server default 30]
          --priority N         SRV priority [server default 0]
          --weight N           SRV weight [server default 1]
          --meta KEY=VALUE     published as TXT; repeat for several
        \(ClientOptions.help)

        Exit status: 0 registered, 1 refused or unreachable (the server's message on stderr), 64 bad usage.
        """

    static let heartbeatHelp = """
        Usage: beacon heartbeat ID [flags]

        Renews the lease of instance ID to its full TTL (POST /v1/instances/ID/heartbeat) and prints when
        the server suggests the next heartbeat. A 404 means the lease already ended: register again.

        \(ClientOptions.help)

        Exit status: 0 renewed, 1 unknown id, refused or unreachable, 64 bad usage.
        """

    static let reloadHelp = """
        Usage: beacon reload [flags]

        Asks the server to reload its zone files and token file (POST /v1/reload), as SIGHUP does: all or
        nothing, a file that fails keeps the old set. Prints what changed. With --token-file on the
        server, it needs a token that may write every service.

        \(ClientOptions.help)

        Exit status: 0 reloaded, 1 refused, failed (the previous files stay in force) or unreachable, 64 bad usage.
        """

    static func reload(_ arguments: ParsedArguments, console: Console) -> ExitCode {
        let options: ClientOptions
        do throws(ExitCodeMessage) {
            guard arguments.positionals.isEmpty else { throw ExitCodeMessage(.usage, "reload takes no arguments") }
            options = try ClientOptions.parse(arguments)
        } catch {
            return error.report(to: console)
        }
        var client = options.client()
        return perform(console: console, options: options, table: TextTable("STATUS", "CHANGES"), keys: ["status", "changes"]) {
            () throws(ClientError) in try client.reload()
        }
    }

    static let deregisterHelp = """
        Usage: beacon deregister ID [flags]

        Removes instance ID at once (DELETE /v1/instances/ID) and prints `drain`: how many seconds an
        answer already given out may still sit in a cache. Keep the instance serving that long.

        \(ClientOptions.help)

        Exit status: 0 removed, 1 unknown id, refused or unreachable, 64 bad usage.
        """

    static func register(_ arguments: ParsedArguments, console: Console) -> ExitCode {
        let options: ClientOptions
        let flags: RegistrationFlags
        do throws(ExitCodeMessage) {
            guard arguments.positionals.isEmpty else {
                throw ExitCodeMessage(.usage, "register takes no arguments (got '\(arguments.positionals[0])')")
            }
            do throws(UsageError) {
                flags = try RegistrationFlags.parse(arguments, defaultAddress: nil, checkRanges: false)
            } catch {
                throw ExitCodeMessage(.usage, error.message)
            }
            options = try ClientOptions.parse(arguments)
        } catch {
            return error.report(to: console)
        }
        var client = options.client()
        return perform(console: console, options: options, table: TextTable("ID", "TTL"), keys: ["id", "ttl"]) {
            () throws(ClientError) in try client.register(flags.body)
        }
    }

    static func heartbeat(_ arguments: ParsedArguments, console: Console) -> ExitCode {
        instanceCall(
            "heartbeat", arguments, console: console, table: TextTable("ID", "TTL", "NEXT_HEARTBEAT_IN"),
            keys: ["id", "ttl", "next_heartbeat_in"]
        ) { (client, id) throws(ClientError) in try client.heartbeat(id: id) }
    }

    static func deregister(_ arguments: ParsedArguments, console: Console) -> ExitCode {
        instanceCall("deregister", arguments, console: console, table: TextTable("ID", "DRAIN"), keys: ["id", "drain"])
        {
            (client, id) throws(ClientError) in try client.deregister(id: id)
        }
    }

    private static func instanceCall(
        _ name: String, _ arguments: ParsedArguments, console: Console, table: TextTable, keys: [String],
        _ call: (inout ControlClient, String) throws(ClientError) -> ControlReply
    ) -> ExitCode {
        let options: ClientOptions
        let id: String
        do throws(ExitCodeMessage) {
            guard arguments.positionals.count == 1 else {
                throw ExitCodeMessage(
                    .usage, arguments.positionals.isEmpty ? "\(name) needs an instance ID" : "\(name) takes one ID")
            }
            id = arguments.positionals[0]
            options = try ClientOptions.parse(arguments)
        } catch {
            return error.report(to: console)
        }
        var client = options.client()
        return perform(console: console, options: options, table: table, keys: keys) { () throws(ClientError) in
            try call(&client, id)
        }
    }

    /// Makes the call and prints the reply: the fields `keys` as one table row, or the body with `--json`.
    static func perform(
        console: Console, options: ClientOptions, table: TextTable, keys: [String],
        _ call: () throws(ClientError) -> ControlReply
    ) -> ExitCode {
        let reply: ControlReply
        do throws(ClientError) {
            reply = try call()
        } catch {
            return console.fail("\(error)")
        }
        guard reply.isSuccess else { return console.fail("\(reply.status) \(reply.errorMessage)") }
        if options.json {
            console.out(reply.bodyText + "\n")
        } else {
            var table = table
            table.append(keys.map { cell(reply.json[$0]) })
            console.out(table.rendered)
        }
        return .success
    }
}
