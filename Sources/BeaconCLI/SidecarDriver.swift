import Clients
import HTTPWire
import PosixIO

/// Performs what `SidecarMachine` decides: the health check, the calls to Beacon, the child process,
/// signals and waiting. One thread and no handlers: the signals are blocked and collected with
/// `sigtimedwait`, which is also the sleep, so SIGTERM or the child's exit wakes it at once.
struct SidecarDriver: ~Copyable {
    let config: SidecarConfig
    let log: Log
    private var control: ControlClient
    /// The running child, until it has been reaped.
    private var child: Int32?

    /// SIGCHLD is among them so that the child's exit ends a wait.
    static let signals = [Signals.interrupt, Signals.terminate, Signals.hangUp, Signals.child]

    /// Every call to Beacon gives up after this long, so a signal is never kept waiting much longer.
    static let callTimeoutMilliseconds = 2_000

    init(config: SidecarConfig, log: Log) {
        self.config = config
        self.log = log
        control = ControlClient(
            server: config.server, token: config.token, tls: config.tls, timeoutMilliseconds: Self.callTimeoutMilliseconds)
    }

    /// Runs until the machine says exit, and returns the status.
    mutating func run() -> ExitCode {
        // Before the child exists, so that no signal is lost in between; the child gets the default
        // mask and dispositions back (ChildProcess.spawn).
        Signals.block(Self.signals)
        Signals.ignoreBrokenPipe()
        let flags = config.registration
        info(
            "\(flags.function).\(flags.service) at \(flags.address):\(flags.port) via \(config.server)"
                + (config.check.map { ", check \($0)" } ?? ", no check"))
        if !config.command.isEmpty {
            do throws(SystemCallError) {
                let pid = try ChildProcess.spawn(config.command)
                child = pid
                info("started \(config.command.joined(separator: " ")) (pid \(pid))")
            } catch {
                info("cannot start \(config.command[0]): \(error.errno)")
                return ExitCode(error.errno == .noSuchFile ? 127 : 126)
            }
        }
        var settings = SidecarMachine.Settings(
            hasCheck: config.check != nil, hasChild: child != nil, interval: config.interval, drainMax: config.drainMax)
        settings.recheck = min(settings.recheck, config.interval)
        var machine = SidecarMachine(settings: settings, now: .now, seed: UInt64.random(in: 0...UInt64.max))
        var pending = machine.handle(.started, now: .now)
        while !pending.isEmpty {
            let action = pending.removeFirst()
            let event: SidecarMachine.Event
            switch action {
            case .log(let line):
                info(line)
                continue
            case .signalChild(let signal):
                if let child { try? Signals.send(signal, to: child) }
                continue
            case .exit(let status):
                return ExitCode(status)
            case .runCheck:
                let result = config.check?.run() ?? HealthCheck.Result(passed: true, detail: "no check")
                event = .checked(SidecarMachine.HealthCheckOutcome(passed: result.passed, detail: result.detail))
            case .register:
                event = .registered(
                    outcome(catching { () throws(ClientError) in try control.register(flags.body) }) {
                        guard let id = $0["id"]?.stringValue, let ttl = $0["ttl"]?.numberValue?.asExactInt else {
                            return nil
                        }
                        return SidecarMachine.Lease(id: id, ttl: ttl)
                    })
            case .heartbeat(let id):
                event = .heartbeated(
                    outcome(catching { () throws(ClientError) in try control.heartbeat(id: id) }) {
                        $0["next_heartbeat_in"]?.numberValue?.asDouble
                    })
            case .deregister(let id):
                event = .deregistered(
                    outcome(catching { () throws(ClientError) in try control.deregister(id: id) }) {
                        $0["drain"]?.numberValue?.asDouble
                    })
            case .wait(let milliseconds):
                event = waitForEvent(milliseconds: milliseconds)
            }
            pending += machine.handle(event, now: .now)
        }
        return .failure
    }

    /// Sleeps until the time passes, a signal arrives, or the child exits.
    private mutating func waitForEvent(milliseconds: Int) -> SidecarMachine.Event {
        if let exit = reapChild() { return .childExited(exit) }
        guard let signal = Signals.wait(for: Self.signals, milliseconds: milliseconds) else { return .timer }
        if signal == Signals.child { return reapChild().map { .childExited($0) } ?? .timer }
        return .signal(signal)
    }

    private mutating func reapChild() -> ChildProcess.Termination? {
        guard let pid = child, let termination = ChildProcess.poll(pid) else { return nil }
        child = nil
        return termination
    }

    /// A reply as the machine sees it: 2xx with the fields it needs, 404, another status, or no reply.
    private func outcome<Value: Sendable & Equatable>(
        _ result: Result<ControlReply, ClientError>, _ parse: (JSONValue) -> Value?
    ) -> SidecarMachine.CallOutcome<Value> {
        switch result {
        case .failure(let error):
            return .unreachable("\(error)")
        case .success(let reply) where reply.status == 404:
            return .notFound
        case .success(let reply) where reply.isSuccess:
            guard let value = parse(reply.json) else {
                return .rejected(status: reply.status, message: "unexpected reply \(reply.bodyText)")
            }
            return .success(value)
        case .success(let reply):
            return .rejected(status: reply.status, message: reply.errorMessage)
        }
    }

    private func info(_ line: String) { log.info("sidecar: \(line)") }
}
