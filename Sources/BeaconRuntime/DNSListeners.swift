import DNSServer
import Leases
import PosixIO

/// The DNS listeners (`--dns`, repeatable): per address a TCP listener and UDP sockets, with their
/// own counters, all answering from one `AnswerSource` that a reload swaps.
final class DNSListeners: Sendable {
    struct Listener: Sendable {
        let address: SocketAddress
        let counters: DNSCounters
        let udp: UDPServer
        let tcp: TCPServer
    }

    let listeners: [Listener]

    /// Binds every address (TCP first: with port 0 it picks the port, and UDP then binds the same
    /// one, or both again when that port is taken for UDP), stopping what started if one fails.
    /// - Throws: one line naming the address.
    init(
        _ config: ServeConfig, source: AnswerSource, registry: Registry, udpForward: UDPServer.ForwardHandler?,
        tcpForward: TCPServer.ForwardHandler?
    ) throws(StartupError) {
        var started: [Listener] = []
        for requested in config.dnsAddresses {
            do throws(SystemCallError) {
                started.append(try Self.bind(requested, config, source: source, registry: registry,
                    udpForward: udpForward, tcpForward: tcpForward))
            } catch {
                for listener in started { listener.stop() }
                throw StartupError("--dns \(requested): \(error.errno)")
            }
        }
        listeners = started
    }

    /// With port 0 the port TCP picked can be taken for UDP by another program: then both pick
    /// again, with fresh servers (a stopped server does not start again).
    private static func bind(
        _ requested: SocketAddress, _ config: ServeConfig, source: AnswerSource, registry: Registry,
        udpForward: UDPServer.ForwardHandler?, tcpForward: TCPServer.ForwardHandler?
    ) throws(SystemCallError) -> Listener {
        var options = TCPServer.Options()
        options.threads = config.tcpThreads
        options.maximumConnections = config.tcpMaxConnections
        options.idleMilliseconds = config.tcpIdleMilliseconds
        options.messageMilliseconds = config.tcpMessageMilliseconds
        var attemptsLeft = requested.port == 0 ? 20 : 1
        while true {
            let counters = DNSCounters()
            let engine = DNSEngine(source: source, registry: registry, counters: counters)
            let udp = UDPServer(engine: engine, forward: udpForward, responsesPerSecond: config.responseRateLimit)
            let tcp = TCPServer(engine: engine, forward: tcpForward)
            do throws(SystemCallError) {
                let bound = try tcp.start(address: requested, options: options)
                try udp.start(address: bound, threads: config.udpThreads)
                return Listener(address: bound, counters: counters, udp: udp, tcp: tcp)
            } catch {
                tcp.stop()
                udp.stop()
                attemptsLeft -= 1
                if error.errno != .addressInUse || attemptsLeft == 0 { throw error }
            }
        }
    }

    var addresses: [SocketAddress] { listeners.map(\.address) }

    func stop() {
        for listener in listeners { listener.stop() }
    }
}

extension DNSListeners.Listener {
    func stop() {
        tcp.stop()
        udp.stop()
    }
}
