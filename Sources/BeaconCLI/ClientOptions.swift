import Clients
import PosixIO
import TLS

/// The flags every HTTP client command shares: where Beacon is, the token, and the output format.
struct ClientOptions {
    static let defaultServer = "http://127.0.0.1:8054"

    static let specs: [FlagSpec] =
        [
            FlagSpec("server", env: "BEACON_SERVER"),
            FlagSpec("token-file"),
            FlagSpec("json", value: false),
            FlagSpec("help", value: false),
        ] + tlsSpecs

    /// `--ca`, `--cert`, `--key`: shared with the sidecar.
    static let tlsSpecs = [
        FlagSpec("ca", env: "BEACON_CA"), FlagSpec("cert", env: "BEACON_CERT"), FlagSpec("key", env: "BEACON_KEY"),
    ]

    /// The flag lines for each client command's `--help`.
    static let help = """
          --server URL         Beacon's HTTP side channel, http:// or https:// [$BEACON_SERVER, default \(defaultServer)]
          --token-file FILE    send the first token in FILE as Authorization: Bearer (same format as serve's)
          --json               print the server's JSON instead of a table
        \(tlsHelp)
        """

    static let tlsHelp = """
          --ca FILE            PEM CAs that verify an https:// server [$BEACON_CA, default: the system's CAs]
          --cert FILE          PEM client certificate, for a server started with --tls-client-ca [$BEACON_CERT]
          --key FILE           its PEM private key [$BEACON_KEY]
        """

    var server: HTTPEndpoint
    var token: String?
    var json: Bool
    /// For an `https://` server.
    var tls: TLSClientContext?

    /// Reads the shared flags. A bad URL is a usage error (64); an unreadable token file a failure (1).
    static func parse(_ arguments: ParsedArguments) throws(ExitCodeMessage) -> ClientOptions {
        let text = arguments.value("server") ?? defaultServer
        let server: HTTPEndpoint
        do throws(ClientError) {
            server = try HTTPEndpoint(parsing: text)
        } catch {
            throw ExitCodeMessage(.usage, "\(arguments.origin("server")): \(error)")
        }
        var token: String? = nil
        if let path = arguments.value("token-file") { token = try readToken(path) }
        let tls = try tlsContext(arguments, server: server)
        return ClientOptions(server: server, token: token, json: arguments.has("json"), tls: tls)
    }

    /// The TLS context for an `https://` server, loading OpenSSL only then. `--ca`, `--cert` or
    /// `--key` with an `http://` server is a usage error (64); an unreadable file or a missing
    /// libssl a failure (1), naming the flag and file.
    static func tlsContext(_ arguments: ParsedArguments, server: HTTPEndpoint) throws(ExitCodeMessage) -> TLSClientContext? {
        let given = ["ca", "cert", "key"].filter { arguments.has($0) }
        guard server.isSecure else {
            if let flag = given.first {
                throw ExitCodeMessage(.usage, "\(arguments.origin(flag)) needs an https:// --server (got \(server))")
            }
            return nil
        }
        if arguments.has("cert") != arguments.has("key") {
            let (flag, missing) = arguments.has("cert") ? ("cert", "key") : ("key", "cert")
            throw ExitCodeMessage(.usage, "\(arguments.origin(flag)) needs --\(missing)")
        }
        func file(_ name: String) -> TLSFile? { arguments.value(name).map { TLSFile($0, flag: arguments.origin(name)) } }
        do throws(TLSError) {
            _ = try LibSSL.load()
        } catch {
            throw ExitCodeMessage(.failure, "\(arguments.origin("server")) \(server): \(error.message)")
        }
        do throws(TLSError) {
            return try TLSClientContext(settings: TLSClientSettings(ca: file("ca"), certificate: file("cert"), key: file("key")))
        } catch {
            throw ExitCodeMessage(.failure, error.message)
        }
    }

    /// The first token in a token file: the first field of the first line that is not blank or a
    /// `#` comment, as `beacon serve --token-file` reads it (one file can serve both).
    static func readToken(_ path: String) throws(ExitCodeMessage) -> String {
        let bytes: [UInt8]
        do throws(SystemCallError) {
            bytes = try Files.read(path)
        } catch {
            throw ExitCodeMessage(.failure, "--token-file \(path): \(error.errno)")
        }
        guard let token = firstToken(in: String(decoding: bytes, as: UTF8.self)) else {
            throw ExitCodeMessage(.failure, "--token-file \(path): holds no token")
        }
        return token
    }

    static func firstToken(in text: String) -> String? {
        for rawLine in text.split(separator: "\n") {
            var line = Substring(rawLine)
            if let hash = line.firstIndex(of: "#") { line = line[..<hash] }
            if let field = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).first {
                return String(field)
            }
        }
        return nil
    }

    func client(timeoutMilliseconds: Int = 5_000) -> ControlClient {
        ControlClient(server: server, token: token, tls: tls, timeoutMilliseconds: timeoutMilliseconds)
    }
}

/// A command that cannot go on: the exit status and the line for stderr.
struct ExitCodeMessage: Error {
    var code: ExitCode
    var message: String
    init(_ code: ExitCode, _ message: String) {
        self.code = code
        self.message = message
    }

    /// Prints the message the way its status calls for (usage errors point at `--help`).
    func report(to console: Console) -> ExitCode {
        if code == .usage { return CommandLineTool.usageFailure(UsageError(message), console: console) }
        console.err("beacon: \(message)\n")
        return code
    }
}
