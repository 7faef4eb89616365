import Primitives
import PosixIO

/// Every decision `beacon sidecar` makes, as a value with no I/O: events in, actions out.
///
/// The driver (`SidecarDriver`) performs the actions (health check, HTTP calls, signals, waiting) and
/// feeds back what happened, so the rules of CONTRACT.md "Client commands" are tested here with a
/// hand-moved clock and no processes or sockets (STYLE 3.4 #8 and #9).
///
/// The rules:
/// - Register once the check first passes (at once without a check); then, while it passes,
///   heartbeat every `interval` or sooner when the server's `next_heartbeat_in` says so.
/// - While the check fails, withhold heartbeats (never deregister): the lease lapses and the instance
///   leaves DNS within one TTL. When it passes again, heartbeat, and register again on a 404.
/// - A heartbeat answered 404 means the lease is gone (expired, or a Beacon restarted without its
///   data): register again at once. An unreachable or refusing server is retried with capped,
///   jittered exponential backoff, so a fleet does not hammer a Beacon that is coming back.
/// - SIGTERM or SIGINT: deregister first, wait the `drain` the server returned (at most
///   `drainMax`), then pass the signal to the child and exit with its status. A second signal
///   ends the drain early. SIGHUP is passed on at once.
/// - The child exiting on its own: deregister at once and exit with its status.
///
/// `handle` returns actions to perform in order; the last is always one that ends the step
/// (`runCheck`, a call, `wait` or `exit`), whose outcome comes back as the next event.
package struct SidecarMachine: Sendable {
    package typealias Instant = ContinuousClock.Instant

    package struct Settings: Sendable, Equatable {
        /// Whether `--check` was given; without it the service counts as healthy.
        package var hasCheck: Bool
        /// Whether there is a child command to signal and wait for.
        package var hasChild: Bool
        /// The longest gap between heartbeats (`--interval`).
        package var interval: Duration
        /// The longest drain honoured (`--drain-max`), so a stop never hangs on a huge TTL.
        package var drainMax: Duration
        /// How often a check that has not passed yet, or fails, is run again.
        package var recheck: Duration = .seconds(1)
        /// The first retry delay after a failed call; it doubles up to `backoffCap`.
        package var backoffFirst: Duration = .milliseconds(250)
        package var backoffCap: Duration = .seconds(5)
        /// How long the stopping sidecar waits between looks at a child it already signalled.
        package var idleWait: Duration = .seconds(60)

        package init(hasCheck: Bool, hasChild: Bool, interval: Duration, drainMax: Duration) {
            self.hasCheck = hasCheck
            self.hasChild = hasChild
            self.interval = interval
            self.drainMax = drainMax
        }
    }

    /// What the server confirmed on registration.
    package struct Lease: Sendable, Equatable {
        package var id: String
        /// Seconds.
        package var ttl: Int

        package init(id: String, ttl: Int) {
            self.id = id
            self.ttl = ttl
        }
    }

    /// How an HTTP call to Beacon went.
    package enum CallOutcome<Value: Sendable & Equatable>: Sendable, Equatable {
        case success(Value)
        /// 404: no live instance with that id.
        case notFound
        /// Any other non-2xx status, with the server's message.
        case rejected(status: Int, message: String)
        /// No reply at all (refused, timed out, reset).
        case unreachable(String)
    }

    package enum Event: Sendable, Equatable {
        /// The driver is ready (the child, if any, has been started).
        case started
        /// A `wait` ended without a signal or child exit (timed out, or woke for nothing).
        case timer
        case checked(HealthCheckOutcome)
        case registered(CallOutcome<Lease>)
        /// With `next_heartbeat_in`, in seconds.
        case heartbeated(CallOutcome<Double>)
        /// With `drain`, in seconds.
        case deregistered(CallOutcome<Double>)
        case signal(CInt)
        case childExited(ChildProcess.Termination)
    }

    /// A health check result, as the machine sees it.
    package struct HealthCheckOutcome: Sendable, Equatable {
        package var passed: Bool
        package var detail: String

        package init(passed: Bool, detail: String) {
            self.passed = passed
            self.detail = detail
        }
    }

    package enum Action: Sendable, Equatable {
        /// One line for the log.
        case log(String)
        case runCheck
        case register
        case heartbeat(id: String)
        case deregister(id: String)
        /// Sleep until the time passes, a signal arrives or the child exits, then report `.timer`,
        /// `.signal` or `.childExited`.
        case wait(milliseconds: Int)
        case signalChild(CInt)
        case exit(Int32)
    }

    enum Phase: Equatable {
        /// Not registered; the check has not passed yet (or failed after the lease was lost).
        case awaitingHealth
        /// The check passed; a registration is due (or being retried).
        case registering
        /// Registered and heartbeating while the check passes.
        case live(Lease)
        /// Registered, but the check fails: heartbeats are withheld so that the lease lapses.
        case unhealthy(Lease)
        /// Deregistered on a signal; the child keeps serving until `until`, then gets `signal`.
        case draining(until: Instant, signal: CInt)
        /// The signal went to the child; waiting for it to exit.
        case stopping
        /// `exit` was returned.
        case done
    }

    /// Why the sidecar is shutting down, once it is.
    enum Shutdown: Equatable {
        case signal(CInt)
        case childExited(ChildProcess.Termination)
    }

    enum CheckState: Equatable { case unknown, passing, failing }

    package let settings: Settings
    var phase: Phase = .awaitingHealth
    /// When the periodic work of the current phase (check, heartbeat, retry) is next due.
    private(set) var nextTick: Instant
    /// The id to deregister on the way out: the last one the server confirmed.
    var registeredID: String?
    /// When the last confirmed lease ends (registration or heartbeat time plus TTL), for the drain
    /// when the deregistration itself cannot reach the server.
    private(set) var leaseEnd: Instant?
    var shutdown: Shutdown?
    var childRunning: Bool
    var childStatus: ChildProcess.Termination?
    /// Set when the sidecar gives up (a 403): the exit status, whatever the child's.
    var fatalStatus: Int32?
    private var checkState = CheckState.unknown
    /// Consecutive failed calls, for the backoff.
    package private(set) var failures = 0
    /// The problem last logged, so that a long outage is one line, not one per retry.
    private var problem: String?
    private var random: SplitMix64

    package init(settings: Settings, now: Instant, seed: UInt64) {
        self.settings = settings
        nextTick = now
        childRunning = settings.hasChild
        random = SplitMix64(seed: seed)
    }

    /// Takes one event and returns what to do next.
    package mutating func handle(_ event: Event, now: Instant) -> [Action] {
        switch event {
        case .started:
            return due(now: now)
        case .timer:
            return tick(now: now)
        case .checked(let outcome):
            return checked(outcome, now: now)
        case .registered(let outcome):
            return registered(outcome, now: now)
        case .heartbeated(let outcome):
            return heartbeated(outcome, now: now)
        case .deregistered(let outcome):
            return deregistered(outcome, now: now)
        case .signal(let signal):
            return received(signal, now: now)
        case .childExited(let termination):
            return childExited(termination, now: now)
        }
    }

    // MARK: - Time

    /// Waits for the current phase's next deadline, or does its work when it is due.
    mutating func tick(now: Instant) -> [Action] {
        switch phase {
        case .awaitingHealth, .registering, .live, .unhealthy:
            guard now >= nextTick else { return [.wait(milliseconds: Self.milliseconds(nextTick - now))] }
            return due(now: now)
        case .draining(let until, let signal):
            guard now >= until else { return [.wait(milliseconds: Self.milliseconds(until - now))] }
            return finishDrain(signal, now: now)
        case .stopping:
            return [.wait(milliseconds: Self.milliseconds(settings.idleWait))]
        case .done:
            return []
        }
    }

    /// The periodic work: with a check, every step starts with it; without, it goes straight to the call.
    private mutating func due(now: Instant) -> [Action] {
        switch phase {
        case .awaitingHealth, .unhealthy:
            return settings.hasCheck ? [.runCheck] : checked(HealthCheckOutcome(passed: true, detail: ""), now: now)
        case .registering:
            return settings.hasCheck ? [.runCheck] : [.register]
        case .live(let lease):
            return settings.hasCheck ? [.runCheck] : [.heartbeat(id: lease.id)]
        case .draining, .stopping, .done:
            return tick(now: now)
        }
    }

    private mutating func sleep(until deadline: Instant, now: Instant) -> [Action] {
        nextTick = deadline
        return [.wait(milliseconds: Self.milliseconds(max(.zero, deadline - now)))]
    }

    /// The retry delay after `failures` failed calls: doubling from `backoffFirst`, capped at
    /// `backoffCap`, and drawn uniformly from its upper half ("equal jitter"), so that sidecars
    /// that lost the same Beacon at the same moment spread their retries out.
    mutating func backoff() -> Duration {
        let exponent = min(max(failures - 1, 0), 30)
        let full = min(settings.backoffCap, settings.backoffFirst * (1 << exponent))
        let half = Self.milliseconds(full) / 2
        return .milliseconds(half + Int(random.next() % UInt64(half + 1)))
    }

    /// The next heartbeat: `interval`, or sooner if the server suggests it, but not in a busy loop.
    private func heartbeatDelay(suggested seconds: Double) -> Duration {
        let suggested = Duration.milliseconds(Int((max(0, seconds) * 1000).rounded()))
        return max(.milliseconds(100), min(settings.interval, suggested))
    }

    static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return Int(seconds) * 1000 + Int((attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
    }

    // MARK: - Health

    private mutating func checked(_ outcome: HealthCheckOutcome, now: Instant) -> [Action] {
        guard shutdown == nil else { return tick(now: now) }
        var actions: [Action] = []
        let previous = checkState
        checkState = outcome.passed ? .passing : .failing
        switch (phase, outcome.passed) {
        case (.awaitingHealth, true), (.registering, true):
            phase = .registering
            if settings.hasCheck && previous != .passing { actions.append(.log("check passing (\(outcome.detail))")) }
            return actions + [.register]
        case (.awaitingHealth, false), (.registering, false):
            phase = .awaitingHealth
            if previous != .failing {
                actions.append(.log("check failing (\(outcome.detail)); not registering until it passes"))
            }
            return actions + sleep(until: now + settings.recheck, now: now)
        case (.live(let lease), true):
            return [.heartbeat(id: lease.id)]
        case (.live(let lease), false):
            phase = .unhealthy(lease)
            let remaining = leaseEnd.map { max(0, Self.milliseconds($0 - now)) / 1000 } ?? lease.ttl
            actions.append(
                .log(
                    "check failing (\(outcome.detail)); withholding heartbeats: \(lease.id) leaves DNS when its lease "
                        + "ends (within \(remaining) s)"))
            return actions + sleep(until: now + settings.recheck, now: now)
        case (.unhealthy(let lease), true):
            phase = .live(lease)
            return [
                .log("check passing again (\(outcome.detail)); resuming heartbeats for \(lease.id)"),
                .heartbeat(id: lease.id),
            ]
        case (.unhealthy, false):
            return sleep(until: now + settings.recheck, now: now)
        case (.draining, _), (.stopping, _), (.done, _):
            return tick(now: now)
        }
    }

    // MARK: - Calls

    private mutating func registered(_ outcome: CallOutcome<Lease>, now: Instant) -> [Action] {
        guard shutdown == nil else { return tick(now: now) }
        switch outcome {
        case .success(let lease):
            phase = .live(lease)
            registeredID = lease.id
            leaseEnd = now + .seconds(lease.ttl)
            failures = 0
            problem = nil
            let first = Duration.seconds(lease.ttl) / 3
            return [.log("registered \(lease.id) (ttl \(lease.ttl) s)")]
                + sleep(until: now + heartbeatDelay(suggested: Double(Self.milliseconds(first)) / 1000), now: now)
        case .rejected(403, _):
            return refusedForGood("register", outcome.problem, now: now)
        case .notFound, .rejected, .unreachable:
            return failed("register", outcome.problem, now: now)
        }
    }

    private mutating func heartbeated(_ outcome: CallOutcome<Double>, now: Instant) -> [Action] {
        guard shutdown == nil, case .live(let lease) = phase else { return tick(now: now) }
        switch outcome {
        case .success(let next):
            leaseEnd = now + .seconds(lease.ttl)
            failures = 0
            var actions: [Action] = []
            if problem != nil { actions.append(.log("heartbeat for \(lease.id) accepted again")) }
            problem = nil
            return actions + sleep(until: now + heartbeatDelay(suggested: next), now: now)
        case .notFound:
            phase = .registering
            leaseEnd = nil
            return [
                .log("\(lease.id) is unknown to the server (lease ended or Beacon restarted); registering again"),
                .register,
            ]
        case .rejected(403, _):
            return refusedForGood("heartbeat", outcome.problem, now: now)
        case .rejected, .unreachable:
            return failed("heartbeat", outcome.problem, now: now)
        }
    }

    /// A 403: the token may not write this service or id, and no retry can change that. Stop the
    /// child (if any) and exit 1, rather than retry for ever with the instance out of DNS.
    private mutating func refusedForGood(_ call: String, _ problem: String, now: Instant) -> [Action] {
        fatalStatus = 1
        shutdown = .signal(Signals.terminate)
        registeredID = nil
        let line = Action.log("\(call) refused: \(problem); giving up (check --service, --id and the token's services)")
        guard childRunning else {
            phase = .done
            return [line, .exit(1)]
        }
        phase = .stopping
        return [line, .log("passing SIGTERM to the child"), .signalChild(Signals.terminate)] + tick(now: now)
    }

    /// Logs a failed call once per distinct problem and schedules the retry.
    private mutating func failed(_ call: String, _ problem: String, now: Instant) -> [Action] {
        failures += 1
        let delay = backoff()
        var actions: [Action] = []
        let line = "\(call) failed: \(problem); retrying with backoff"
        if line != self.problem { actions.append(.log(line)) }
        self.problem = line
        return actions + sleep(until: now + delay, now: now)
    }

    static func secondsText(_ duration: Duration) -> String {
        let milliseconds = Self.milliseconds(duration)
        let fraction = milliseconds % 1000
        guard fraction != 0 else { return String(milliseconds / 1000) }
        let digits = String(fraction)
        var text = "\(milliseconds / 1000)." + String(repeating: "0", count: 3 - digits.count) + digits
        while text.hasSuffix("0") { text.removeLast() }
        return text
    }
}

extension SidecarMachine.CallOutcome {
    /// The failure as a log phrase.
    var problem: String {
        switch self {
        case .success: "ok"
        case .notFound: "404"
        case .rejected(let status, let message): "\(status) \(message)"
        case .unreachable(let reason): "server unreachable (\(reason))"
        }
    }
}

