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
    /// one), stopping what started if one fails.
    /// - Throws: one line naming the address.
    init(
        _ config: ServeConfig, source: AnswerSource, registry: Registry, udpForward: UDPServer.ForwardHandler?,
        tcpForward: TCPServer.ForwardHandler?
    ) throws(StartupError) {
        var started: [Listener] = []
        for requested in config.dnsAddresses {
            let counters = DNSCounters()
            let engine = DNSEngine(source: source, registry: registry, counters: counters)
            let udp = UDPServer(engine: engine, forward: udpForward, responsesPerSecond: config.responseRateLimit)
            do throws(SystemCallError) {
                let tcp = TCPServer(engine: engine, forward: tcpForward)
                var options = TCPServer.Options()
                options.threads = config.tcpThreads
                options.maximumConnections = config.tcpMaxConnections
                options.idleMilliseconds = config.tcpIdleMilliseconds
                options.messageMilliseconds = config.tcpMessageMilliseconds
                do throws(SystemCallError) {
                    let bound = try tcp.start(address: requested, options: options)
                    try udp.start(address: bound, threads: config.udpThreads)
                    started.append(Listener(address: bound, counters: counters, udp: udp, tcp: tcp))
                } catch {
                    tcp.stop()
                    udp.stop()
                    throw error
                }
            } catch {
                for listener in started { listener.stop() }
                throw StartupError("--dns \(requested): \(error.errno)")
            }
        }
        listeners = started
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
