import Primitives
import BeaconCLI
import BeaconRuntime
import Clients
import DNSWire
import HTTPWire
import PosixIO
import Synchronization
import Testing

/// What one in-process run of the command line printed, and its exit status.
struct CommandRun {
    var status: Int32
    var out: String
    var err: String
}

/// Runs `beacon ARGS` in-process with its output captured.
func runBeacon(_ arguments: [String], environment: [String: String] = [:]) -> CommandRun {
    let out = Locked("")
    let err = Locked("")
    let console = Console(out: { text in out.withLock { $0 += text } }, err: { text in err.withLock { $0 += text } })
    let status = CommandLineTool.main(["beacon"] + arguments, environment: environment, console: console)
    return CommandRun(status: status, out: out.withLock { $0 }, err: err.withLock { $0 })
}

@Suite("Client commands: register, heartbeat, deregister, ls, resolve")
struct ClientCommandTests {
    let instance = ["--service", "orders", "--function", "create", "--address", "10.0.0.5", "--port", "8080"]

    func server(_ beacon: RunningBeacon) -> [String] { ["--server", "http://\(beacon.server.httpAddress)"] }
    func dns(_ beacon: RunningBeacon) -> [String] { ["--dns", "\(beacon.server.dnsAddress)"] }

    @Test func registerPrintsTheIdAndLeaseAsATable() throws {
        let beacon = try RunningBeacon()
        let run = runBeacon(["register"] + instance + ["--id", "web-1", "--ttl", "20"] + server(beacon))
        #expect(run.status == 0)
        #expect(run.out == "ID     TTL\nweb-1  20\n")
        #expect(run.err == "")
    }

    @Test func registerWithJSONPrintsTheServersReplyAndRepeatedMetaIsPublished() throws {
        let beacon = try RunningBeacon()
        let run = runBeacon(
            ["register"] + instance + ["--id", "web-1", "--meta", "version=1.2", "--meta", "zone=a=b", "--json"]
                + server(beacon))
        #expect(run.status == 0)
        #expect(run.out == #"{"id":"web-1","ttl":30}"# + "\n")
        var client = beacon.http()
        let (_, listing) = try client.json("GET", "/v1/instances/web-1")
        #expect(listing["meta"] == ["version": "1.2", "zone": "a=b"])
    }

    @Test func aRefusedCallPrintsTheServersMessageAndExitsOne() throws {
        let beacon = try RunningBeacon()
        let port = runBeacon(["register"] + instance.dropLast() + ["70000"] + server(beacon))
        #expect(port.status == 1)
        #expect(port.err == "beacon: 400 port: must be an integer 1-65535\n")
        #expect(port.out == "")
        let label = runBeacon(
            ["register", "--service", "Bad_Name", "--function", "f", "--address", "10.0.0.1", "--port", "1"]
                + server(beacon))
        #expect(label.status == 1)
        #expect(label.err.hasPrefix("beacon: 400 service: must be"))
    }

    @Test func badUsageExits64WithoutCallingTheServer() throws {
        let beacon = try RunningBeacon()
        let cases: [[String]] = [
            ["register"] + instance + ["--bogus"],
            ["register", "--service", "s", "--function", "f", "--address", "10.0.0.1"],
            ["register", "--service", "s", "--function", "f", "--port", "1"],
            ["register"] + instance.dropLast() + ["eighty"],
            ["register"] + instance + ["--meta", "novalue"],
            ["register"] + instance + ["extra"],
            ["register"] + instance + ["--port"],
            ["heartbeat"], ["heartbeat", "a", "b"], ["deregister"], ["ls", "a", "b"],
            ["resolve"], ["resolve", "a.local", "NOSUCHTYPE"], ["resolve", "a.local", "--dns", "nowhere"],
            ["register"] + instance + ["--server", "https://example.com"],
            ["frobnicate"],
        ]
        for arguments in cases {
            var full = arguments
            if full[0] != "resolve" && !full.contains("--server") && full.count > 1 {
                full.insert(contentsOf: server(beacon), at: 1)
            }
            let run = runBeacon(full)
            #expect(run.status == 64, "\(arguments): \(run.err)")
            #expect(run.err.hasPrefix("beacon: "), "\(arguments)")
            #expect(run.out == "")
        }
        var client = beacon.http()
        #expect(try client.json("GET", "/v1/services").value["services"]?.arrayValue?.isEmpty == true)
    }

    @Test func heartbeatRenewsAndA404ExitsOne() throws {
        let beacon = try RunningBeacon()
        try beacon.register([
            "service": "orders", "function": "create", "address": "10.0.0.5", "port": 8080, "id": "web-1",
        ])
        let run = runBeacon(["heartbeat", "web-1"] + server(beacon))
        #expect(run.status == 0)
        let lines = run.out.split(separator: "\n")
        #expect(lines.first == "ID     TTL  NEXT_HEARTBEAT_IN")
        #expect(lines.count == 2 && lines[1].hasPrefix("web-1  30   "))
        let json = runBeacon(["heartbeat", "web-1", "--json"] + server(beacon))
        #expect(json.out.hasPrefix(#"{"id":"web-1","ttl":30,"next_heartbeat_in":"#))
        let missing = runBeacon(["heartbeat", "nope"] + server(beacon))
        #expect(missing.status == 1)
        #expect(missing.err == "beacon: 404 no live instance with id nope\n")
    }

    @Test func deregisterPrintsTheDrainAndRemovesTheInstance() throws {
        let beacon = try RunningBeacon()
        try beacon.register([
            "service": "orders", "function": "create", "address": "10.0.0.5", "port": 8080, "id": "web-1",
        ])
        _ = try beacon.query("create.orders.local.", .a)
        let run = runBeacon(["deregister", "web-1"] + server(beacon))
        #expect(run.status == 0)
        let row = run.out.split(separator: "\n").last?.split(separator: " ", omittingEmptySubsequences: true)
        #expect(row?.first == "web-1")
        // An answer went out with a TTL of about 29 s, so the drain is about 30 s.
        let drain = row.flatMap { Double($0.last ?? "") } ?? 0
        #expect(drain > 25 && drain <= 30, "\(run.out)")
        // Gone from the function's answers; its own name answers through the drain.
        #expect(try beacon.query("create.orders.local.", .a).answers.isEmpty)
        #expect(try beacon.query("web-1.create.orders.local.", .a).answers.count == 1)
        #expect(runBeacon(["deregister", "web-1"] + server(beacon)).status == 1)
    }

    @Test func lsListsServicesFunctionsAndInstances() throws {
        let beacon = try RunningBeacon()
        try beacon.register([
            "service": "orders", "function": "create", "address": "10.0.0.5", "port": 8080, "id": "web-1",
        ])
        try beacon.register(["service": "orders", "function": "list", "address": "10.0.0.6", "port": 81, "id": "web-2"])
        try beacon.register(["service": "users", "function": "get", "address": "::1", "port": 9, "id": "u-1", "ttl": 5])
        let all = runBeacon(["ls"] + server(beacon))
        #expect(all.status == 0)
        let rows = all.out.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true) }
        #expect(rows.first == ["SERVICE", "FUNCTION", "ID", "ADDRESS", "PORT", "EXPIRES_IN"])
        #expect(
            Set(rows.dropFirst().map { $0.prefix(5).joined(separator: " ") }) == [
                "orders create web-1 10.0.0.5 8080", "orders list web-2 10.0.0.6 81", "users get u-1 ::1 9",
            ])
        #expect(rows.dropFirst().allSatisfy { Double($0.last ?? "") != nil })
        let one = runBeacon(["ls", "users"] + server(beacon))
        #expect(one.out.split(separator: "\n").count == 2)
        #expect(one.out.contains("u-1"))
        let none = runBeacon(["ls", "nothing"] + server(beacon))
        #expect(none.status == 0)
        #expect(none.out == "SERVICE  FUNCTION  ID  ADDRESS  PORT  EXPIRES_IN\n")
    }

    @Test func lsWithJSONNestsTheServersFunctionListings() throws {
        let beacon = try RunningBeacon()
        try beacon.register([
            "service": "orders", "function": "create", "address": "10.0.0.5", "port": 8080, "id": "web-1",
        ])
        let run = runBeacon(["ls", "orders", "--json"] + server(beacon))
        #expect(run.status == 0)
        let document = try JSONParser.parse(Array(run.out.utf8))
        let function = document["services"]?[0]?["functions"]?[0]
        #expect(document["services"]?[0]?["service"] == "orders")
        #expect(function?["function"] == "create")
        #expect(function?["instances"]?[0]?["id"] == "web-1")
        #expect(function?["instances"]?[0]?["address"] == "10.0.0.5")
        #expect(function?["index"]?.numberValue != nil)
    }

    @Test func anUnreachableServerExitsOne() throws {
        let port = try ProcessHarness.freePort()
        let run = runBeacon(["ls", "--server", "http://127.0.0.1:\(port)"])
        #expect(run.status == 1)
        #expect(run.err.hasPrefix("beacon: cannot connect to 127.0.0.1:\(port)"))
    }

    @Test func theServerComesFromBEACON_SERVERAndTheFlagWins() throws {
        let beacon = try RunningBeacon()
        let port = try ProcessHarness.freePort()
        let fromEnvironment = runBeacon(["ls"], environment: ["BEACON_SERVER": "http://\(beacon.server.httpAddress)"])
        #expect(fromEnvironment.status == 0)
        let flagWins = runBeacon(
            ["ls", "--server", "http://127.0.0.1:\(port)"],
            environment: ["BEACON_SERVER": "http://\(beacon.server.httpAddress)"])
        #expect(flagWins.status == 1)
    }

    @Test func tokenFileSendsTheFirstTokenAsABearer() throws {
        let directory = try TemporaryDirectory()
        try directory.write("server-tokens", "# writers\n\ns3cret-token-1 orders\nother-token-22\n")
        try directory.write("client-token", "   # mine\n  s3cret-token-1   orders,ignored\n")
        try directory.write("empty", "# nothing\n\n")
        let beacon = try RunningBeacon { $0.tokenFile = directory.path + "/server-tokens" }
        let without = runBeacon(["register"] + instance + server(beacon))
        #expect(without.status == 1)
        #expect(without.err.hasPrefix("beacon: 401 "))
        let with = runBeacon(
            ["register"] + instance + ["--token-file", directory.path + "/client-token"] + server(beacon))
        #expect(with.status == 0, "\(with.err)")
        let empty = runBeacon(["register"] + instance + ["--token-file", directory.path + "/empty"] + server(beacon))
        #expect(empty.status == 1)
        #expect(empty.err.contains("holds no token"))
        let missing = runBeacon(["register"] + instance + ["--token-file", directory.path + "/none"] + server(beacon))
        #expect(missing.status == 1)
        // Reads need no token.
        #expect(runBeacon(["ls"] + server(beacon)).status == 0)
    }

    @Test func resolvePrintsAnswersLikeDig() throws {
        let beacon = try RunningBeacon()
        try beacon.register([
            "service": "orders", "function": "create", "address": "10.0.0.5", "port": 8080, "id": "web-1",
            "meta": ["version": "1.2"],
        ])
        for extra in [[], ["--tcp"]] {
            let a = runBeacon(["resolve", "create.orders.local"] + extra + dns(beacon))
            #expect(a.status == 0)
            let fields = a.out.dropLast().split(separator: "\t")
            #expect(fields.count == 5 && fields[0] == "create.orders.local." && fields[2] == "IN" && fields[3] == "A")
            #expect(fields.last == "10.0.0.5")
            #expect(Int(fields[1]).map { (25...29).contains($0) } == true, "TTL in \(a.out)")
        }
        let srv = runBeacon(["resolve", "create.orders.local.", "srv"] + dns(beacon))
        #expect(srv.out.hasSuffix("\tIN\tSRV\t0 1 8080 web-1.create.orders.local.\n"))
        let txt = runBeacon(["resolve", "web-1.create.orders.local", "TXT"] + dns(beacon))
        #expect(txt.out.hasSuffix("\tTXT\t\"version=1.2\"\n"))
        let soa = runBeacon(["resolve", "local", "SOA"] + dns(beacon))
        #expect(soa.out.contains("\tIN\tSOA\t"))
        // NOERROR with no data (an empty non-terminal) is a success with nothing printed.
        let empty = runBeacon(["resolve", "orders.local", "A"] + dns(beacon))
        #expect(empty.status == 0 && empty.out == "")
    }

    @Test func resolveReportsAFailedStatusOnStderrAndExitsOne() throws {
        let beacon = try RunningBeacon()
        let missing = runBeacon(["resolve", "nope.local"] + dns(beacon))
        #expect(missing.status == 1)
        #expect(missing.err == ";; status: NXDOMAIN\n")
        #expect(missing.out == "")
        let outside = runBeacon(["resolve", "example.com", "A"] + dns(beacon))
        #expect(outside.status == 1)
        #expect(outside.err == ";; status: REFUSED\n")
    }

    @Test func helpIsTruthfulForEveryCommand() {
        let top = runBeacon(["--help"])
        #expect(top.status == 0)
        for command in ["serve", "register", "heartbeat", "deregister", "ls", "resolve", "sidecar"] {
            #expect(top.out.contains("\n  \(command) "), "\(command) missing from beacon --help")
            let help = runBeacon([command, "--help"])
            #expect(help.status == 0)
            #expect(help.out.hasPrefix("Usage: beacon \(command)"), "\(command)")
        }
        // Every flag a client command accepts is in its help.
        for (command, flags) in [
            (
                "register",
                [
                    "--service", "--function", "--address", "--port", "--id", "--ttl", "--priority", "--weight",
                    "--meta", "--server", "--token-file", "--json", "--ca", "--cert", "--key",
                ]
            ),
            ("ls", ["--server", "--json"]), ("resolve", ["--dns", "--tcp"]),
            (
                "sidecar",
                [
                    "--service", "--function", "--port", "--address", "--id", "--ttl", "--interval", "--check",
                    "--drain-max", "--server", "--token-file", "--meta", "--ca", "--cert", "--key",
                ]
            ),
        ] {
            let help = runBeacon([command, "--help"]).out
            for flag in flags { #expect(help.contains(flag), "\(command) --help lacks \(flag)") }
        }
        #expect(runBeacon([]).status == 64)
    }
}
