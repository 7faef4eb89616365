import Clients
import DNSWire
import PosixIO

/// `beacon resolve NAME [TYPE]`: one DNS query to Beacon, printed like `dig +noall +answer`.
///
/// It asks Beacon directly rather than going through the system resolver, so that `.local` names
/// (which nss-mdns and systemd-resolved keep for multicast DNS) and non-default ports just work.
enum ResolveCommand {
    static let defaultDNS = "127.0.0.1:8053"

    static let specs: [FlagSpec] = [
        FlagSpec("dns", env: "BEACON_DNS"),
        FlagSpec("tcp", value: false),
        FlagSpec("help", value: false),
    ]

    static let help = """
        Usage: beacon resolve NAME [TYPE] [flags]

        Queries Beacon's DNS server for NAME (TYPE: A by default; AAAA, SRV, TXT, SOA, NS, ANY or any
        mnemonic or TYPEnnn) over UDP, retrying over TCP when the answer is truncated, and prints the
        answer section like `dig +noall +answer`: name, TTL, class, type and data, tab-separated.

          --dns HOST:PORT      Beacon's DNS listener [$BEACON_DNS, default \(defaultDNS)]
          --tcp                ask over TCP only

        Exit status: 0 for NOERROR (even with no records), 1 for any other status (printed to stderr
        as `;; status: NXDOMAIN`) or no reply, 64 bad usage.
        """

    static func run(_ arguments: ParsedArguments, console: Console) -> ExitCode {
        let name: DomainName
        let type: RRType
        let server: SocketAddress
        do throws(UsageError) {
            guard (1...2).contains(arguments.positionals.count) else {
                throw UsageError(arguments.positionals.isEmpty ? "resolve needs a NAME" : "resolve takes NAME [TYPE]")
            }
            var text = arguments.positionals[0]
            if !text.hasSuffix(".") { text += "." }
            do throws(DomainNameError) {
                name = try DomainName(text)
            } catch {
                throw UsageError("bad name '\(arguments.positionals[0])': \(error)")
            }
            let typeText = arguments.positionals.count == 2 ? arguments.positionals[1] : "A"
            guard let parsed = RRType(mnemonic: typeText) else {
                throw UsageError("unknown record type '\(typeText)' (A, AAAA, SRV, TXT, SOA, ... or TYPEnnn)")
            }
            type = parsed
            let dnsText = arguments.value("dns") ?? defaultDNS
            guard let address = SocketAddress(parsing: dnsText) else {
                throw UsageError("\(arguments.origin("dns")): expected HOST:PORT with an IP literal, got '\(dnsText)'")
            }
            server = address
        } catch {
            return CommandLineTool.usageFailure(error, console: console)
        }
        let reply: Message
        do throws(ClientError) {
            reply = try DNSClient(server: server).query(name, type: type, forceTCP: arguments.has("tcp"))
        } catch {
            return console.fail("\(error)")
        }
        guard reply.rcode == .noError else {
            console.err(";; status: \(reply.rcode)\n")
            return .failure
        }
        console.out(reply.answers.map { "\($0)\n" }.joined())
        return .success
    }
}
