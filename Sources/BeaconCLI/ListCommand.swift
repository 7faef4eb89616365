import Clients
import HTTPWire

/// `beacon ls [SERVICE]`: services, their functions, and each function's live instances.
///
/// One `GET /v1/services`, then one `GET /v1/services/S/F` per function: the listing only carries
/// counts, and the addresses and lease times are what an operator looks for.
enum ListCommand {
    static let specs = ClientOptions.specs

    static let help = """
        Usage: beacon ls [SERVICE] [flags]

        Lists live instances: service, function, id, address, port, and seconds until the lease ends
        (EXPIRES_IN). With SERVICE, only that service.

        \(ClientOptions.help)
                               (--json prints {"services":[{"service","functions":[...]}]} where each
                               function is the server's GET /v1/services/S/F reply)

        Exit status: 0 listed (even when empty), 1 unreachable or refused, 64 bad usage.
        """

    static func run(_ arguments: ParsedArguments, console: Console) -> ExitCode {
        let options: ClientOptions
        do throws(ExitCodeMessage) {
            guard arguments.positionals.count <= 1 else {
                throw ExitCodeMessage(.usage, "ls takes at most one SERVICE (got '\(arguments.positionals[1])')")
            }
            options = try ClientOptions.parse(arguments)
        } catch {
            return error.report(to: console)
        }
        let wanted = arguments.positionals.first?.lowercased()
        var client = options.client()
        var services: [(name: String, functions: [JSONValue])] = []
        do throws(ExitCodeMessage) {
            let listing = try check(try call { () throws(ClientError) in try client.services() })
            for service in listing.json["services"]?.arrayValue ?? [] {
                guard let name = service["service"]?.stringValue, wanted == nil || wanted == name else { continue }
                var functions: [JSONValue] = []
                for function in service["functions"]?.arrayValue ?? [] {
                    guard let functionName = function["function"]?.stringValue else { continue }
                    let reply = try check(
                        try call { () throws(ClientError) in try client.function(service: name, function: functionName)
                        })
                    functions.append(reply.json)
                }
                services.append((name, functions))
            }
        } catch {
            return error.report(to: console)
        }
        if options.json {
            let document: JSONValue = [
                "services": .array(services.map { ["service": .string($0.name), "functions": .array($0.functions)] })
            ]
            console.out(document.jsonText + "\n")
            return .success
        }
        var table = TextTable("SERVICE", "FUNCTION", "ID", "ADDRESS", "PORT", "EXPIRES_IN")
        for service in services {
            for function in service.functions {
                for instance in function["instances"]?.arrayValue ?? [] {
                    table.append([
                        service.name, cell(function["function"]), cell(instance["id"]), cell(instance["address"]),
                        cell(instance["port"]), cell(instance["expires_in"]),
                    ])
                }
            }
        }
        console.out(table.rendered)
        return .success
    }

    private static func call(_ body: () throws(ClientError) -> ControlReply) throws(ExitCodeMessage) -> ControlReply {
        do throws(ClientError) {
            return try body()
        } catch {
            throw ExitCodeMessage(.failure, "\(error)")
        }
    }

    private static func check(_ reply: ControlReply) throws(ExitCodeMessage) -> ControlReply {
        guard reply.isSuccess else { throw ExitCodeMessage(.failure, "\(reply.status) \(reply.errorMessage)") }
        return reply
    }
}
