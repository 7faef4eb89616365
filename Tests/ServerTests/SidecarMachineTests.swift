import BeaconCLI
import PosixIO
import Testing

/// Drives a `SidecarMachine` by hand: a clock moved explicitly, outcomes made up, no processes or sockets.
struct MachineRun {
    typealias Action = SidecarMachine.Action
    var machine: SidecarMachine
    let start = ContinuousClock.now
    private(set) var now: ContinuousClock.Instant

    init(check: Bool = true, child: Bool = true, interval: Int = 10, drainMax: Int = 30, seed: UInt64 = 7) {
        let settings = SidecarMachine.Settings(
            hasCheck: check, hasChild: child, interval: .seconds(interval), drainMax: .seconds(drainMax))
        now = start
        machine = SidecarMachine(settings: settings, now: start, seed: seed)
    }

    /// Moves the clock to `seconds` after the start.
    mutating func at(_ seconds: Double) {
        let target = start + .milliseconds(Int(seconds * 1000))
        precondition(target >= now, "the clock only moves forward")
        now = target
    }

    /// Moves the clock forward by exactly `milliseconds`.
    mutating func advance(milliseconds: Int) { now = now + .milliseconds(milliseconds) }

    /// Sends `event` and returns the actions, checking the machine's promise that the last one ends the
    /// step and none before it does.
    @discardableResult
    mutating func send(_ event: SidecarMachine.Event) -> [Action] {
        let actions = machine.handle(event, now: now)
        #expect(!actions.isEmpty, "no action after \(event)")
        for (index, action) in actions.enumerated() {
            #expect(Self.endsStep(action) == (index == actions.count - 1), "\(actions) after \(event)")
        }
        return actions
    }

    /// The actions other than log lines.
    mutating func calls(_ event: SidecarMachine.Event) -> [Action] {
        send(event).filter { if case .log = $0 { false } else { true } }
    }

    static func endsStep(_ action: Action) -> Bool {
        switch action {
        case .log, .signalChild: false
        case .runCheck, .register, .heartbeat, .deregister, .wait, .exit: true
        }
    }

    static func logs(_ actions: [Action]) -> [String] {
        actions.compactMap { if case .log(let line) = $0 { line } else { nil } }
    }

    /// Brings the machine to a registered instance `web-1` with the given TTL, at time 0.
    mutating func register(ttl: Int = 30) {
        if machine.settings.hasCheck {
            #expect(calls(.started) == [.runCheck])
            #expect(calls(.checked(.init(passed: true, detail: "200"))) == [.register])
        } else {
            #expect(calls(.started) == [.register])
        }
        _ = send(.registered(.success(.init(id: "web-1", ttl: ttl))))
    }
}

@Suite("Sidecar state machine: registering and heartbeats")
struct SidecarMachineTests {
    typealias Action = SidecarMachine.Action
    static let pass = SidecarMachine.HealthCheckOutcome(passed: true, detail: "GET /health answered 200")
    static let fail = SidecarMachine.HealthCheckOutcome(passed: false, detail: "GET /health answered 503")

    @Test func withoutACheckItRegistersAtOnce() {
        var run = MachineRun(check: false)
        #expect(run.calls(.started) == [.register])
    }

    @Test func withACheckItRegistersOnlyOnceTheCheckFirstPasses() {
        var run = MachineRun()
        #expect(run.calls(.started) == [.runCheck])
        let failing = run.send(.checked(Self.fail))
        #expect(failing.last == .wait(milliseconds: 1_000))
        #expect(MachineRun.logs(failing).count == 1)
        run.at(0.5)
        #expect(run.calls(.timer) == [.wait(milliseconds: 500)])
        run.at(1)
        #expect(run.calls(.timer) == [.runCheck])
        // Still failing: no second log line for the same state.
        #expect(run.send(.checked(Self.fail)) == [.wait(milliseconds: 1_000)])
        run.at(2)
        #expect(run.calls(.timer) == [.runCheck])
        let passing = run.send(.checked(Self.pass))
        #expect(passing.last == .register)
        #expect(MachineRun.logs(passing).first?.contains("check passing") == true)
    }

    @Test func itHeartbeatsEveryIntervalOrSoonerWhenTheServerSuggests() {
        var run = MachineRun(check: false, interval: 10)
        #expect(run.calls(.started) == [.register])
        // Before any next_heartbeat_in: a third of the TTL, within the interval.
        #expect(run.calls(.registered(.success(.init(id: "web-1", ttl: 6)))) == [.wait(milliseconds: 2_000)])
        run.at(2)
        #expect(run.calls(.timer) == [.heartbeat(id: "web-1")])
        #expect(run.calls(.heartbeated(.success(4.25))) == [.wait(milliseconds: 4_250)])
        run.at(6.25)
        #expect(run.calls(.timer) == [.heartbeat(id: "web-1")])
        // A suggestion beyond the interval is cut to the interval.
        #expect(run.calls(.heartbeated(.success(25))) == [.wait(milliseconds: 10_000)])
    }

    @Test func anEarlyWakeWaitsOutTheRest() {
        var run = MachineRun(check: false, interval: 10)
        run.register(ttl: 30)
        run.at(3)
        #expect(run.calls(.timer) == [.wait(milliseconds: 7_000)])
        run.at(10)
        #expect(run.calls(.timer) == [.heartbeat(id: "web-1")])
    }

    @Test func withACheckEachHeartbeatFollowsAPassingCheck() {
        var run = MachineRun(interval: 10)
        run.register(ttl: 30)
        run.at(10)
        #expect(run.calls(.timer) == [.runCheck])
        #expect(run.calls(.checked(Self.pass)) == [.heartbeat(id: "web-1")])
    }

    @Test func aFailingCheckWithholdsHeartbeatsAndNeverDeregisters() {
        var run = MachineRun(interval: 1)
        run.register(ttl: 3)
        run.at(1)
        #expect(run.calls(.timer) == [.runCheck])
        let failing = run.send(.checked(Self.fail))
        #expect(failing.last == .wait(milliseconds: 1_000))
        #expect(MachineRun.logs(failing).first?.contains("withholding heartbeats") == true)
        // A minute of failing checks: only checks and waits, no heartbeat, no deregistration.
        var seconds = 1.0
        for _ in 0..<60 {
            seconds += 1
            run.at(seconds)
            #expect(run.calls(.timer) == [.runCheck])
            #expect(run.calls(.checked(Self.fail)) == [.wait(milliseconds: 1_000)])
        }
    }

    @Test func whenTheCheckPassesAgainItHeartbeatsAndRegistersAgainOn404() {
        var run = MachineRun(interval: 1)
        run.register(ttl: 3)
        run.at(1)
        run.send(.timer)
        run.send(.checked(Self.fail))
        run.at(5)
        #expect(run.calls(.timer) == [.runCheck])
        let passing = run.send(.checked(Self.pass))
        #expect(passing.last == .heartbeat(id: "web-1"))
        #expect(MachineRun.logs(passing).first?.contains("passing again") == true)
        // The lease lapsed meanwhile.
        #expect(run.calls(.heartbeated(.notFound)) == [.register])
        #expect(run.calls(.registered(.success(.init(id: "web-1", ttl: 3)))) == [.wait(milliseconds: 1_000)])
    }

    @Test func aBriefFailureWithinTheLeaseResumesWithAHeartbeat() {
        var run = MachineRun(interval: 1)
        run.register(ttl: 30)
        run.at(1)
        run.send(.timer)
        run.send(.checked(Self.fail))
        run.at(2)
        run.send(.timer)
        #expect(run.calls(.checked(Self.pass)) == [.heartbeat(id: "web-1")])
        #expect(run.calls(.heartbeated(.success(9))) == [.wait(milliseconds: 1_000)])
    }

    @Test func aHeartbeatAnswered404RegistersAgainAtOnce() {
        var run = MachineRun(check: false)
        run.register()
        run.at(10)
        #expect(run.calls(.timer) == [.heartbeat(id: "web-1")])
        let lost = run.send(.heartbeated(.notFound))
        #expect(lost.last == .register)
        #expect(MachineRun.logs(lost).first?.contains("registering again") == true)
    }

    @Test func aCheckFailingWhileRegisteringAgainWaitsForItToPass() {
        var run = MachineRun(interval: 1)
        run.register(ttl: 3)
        run.at(1)
        run.send(.timer)
        run.send(.checked(Self.pass))
        run.send(.heartbeated(.notFound))
        #expect(run.calls(.registered(.unreachable("refused"))).count == 1)
        run.at(10)
        #expect(run.calls(.timer) == [.runCheck])
        #expect(run.calls(.checked(Self.fail)) == [.wait(milliseconds: 1_000)])
        run.at(11)
        #expect(run.calls(.timer) == [.runCheck])
        #expect(run.calls(.checked(Self.pass)) == [.register])
    }

    @Test func anUnreachableServerIsRetriedWithCappedJitteredExponentialBackoff() {
        var run = MachineRun(check: false)
        run.register()
        run.at(10)
        var waits: [Int] = []
        for _ in 0..<12 {
            #expect(run.calls(.timer) == [.heartbeat(id: "web-1")])
            guard case .wait(let milliseconds)? = run.calls(.heartbeated(.unreachable("connection refused"))).last
            else {
                Issue.record("no wait after a failed heartbeat")
                return
            }
            waits.append(milliseconds)
            run.advance(milliseconds: milliseconds)
        }
        // Equal jitter: each wait is in the upper half of 250 ms doubling, capped at 5 s.
        for (attempt, wait) in waits.enumerated() {
            let full = min(5_000, 250 << attempt)
            #expect((full / 2)...full ~= wait, "attempt \(attempt): \(wait) ms")
        }
        #expect(waits.max()! <= 5_000)
        #expect(Set(waits.suffix(6)).count > 1, "jitter spreads the capped retries: \(waits)")
    }

    @Test func differentSeedsSpreadRetriesApart() {
        var first = MachineRun(check: false, seed: 1)
        var second = MachineRun(check: false, seed: 2)
        first.register()
        second.register()
        var firstWaits: [Action] = []
        var secondWaits: [Action] = []
        for _ in 0..<5 {
            firstWaits.append(first.calls(.heartbeated(.unreachable("down"))).last!)
            secondWaits.append(second.calls(.heartbeated(.unreachable("down"))).last!)
        }
        #expect(firstWaits != secondWaits)
    }

    @Test func anOutageIsLoggedOnceAndTheRecoveryOnce() {
        var run = MachineRun(check: false)
        run.register()
        var lines: [String] = []
        for _ in 0..<5 { lines += MachineRun.logs(run.send(.heartbeated(.unreachable("connection refused")))) }
        #expect(lines.count == 1)
        #expect(lines.first?.contains("server unreachable (connection refused)") == true)
        let back = MachineRun.logs(run.send(.heartbeated(.success(10))))
        #expect(back.count == 1)
        #expect(MachineRun.logs(run.send(.heartbeated(.success(10)))).isEmpty)
    }

    @Test func aBeaconRestartIsHealedByRegisteringAgainAsSoonAsItIsBack() {
        var run = MachineRun(check: false)
        run.register()
        run.send(.heartbeated(.unreachable("connection refused")))
        run.send(.heartbeated(.unreachable("connection refused")))
        #expect(run.machine.failures == 2)
        // Back, but without the instance (--in-memory): 404, then a registration, and the backoff resets.
        #expect(run.calls(.heartbeated(.notFound)) == [.register])
        #expect(run.calls(.registered(.success(.init(id: "web-1", ttl: 30)))) == [.wait(milliseconds: 10_000)])
        #expect(run.machine.failures == 0)
    }

    @Test func aRefusedRegistrationIsRetriedWithBackoffAndTheServersMessageIsLogged() {
        var run = MachineRun(check: false)
        run.send(.started)
        let refused = run.send(.registered(.rejected(status: 401, message: "unknown token")))
        #expect(MachineRun.logs(refused) == ["register failed: 401 unknown token; retrying with backoff"])
        guard case .wait(let milliseconds)? = refused.last else {
            Issue.record("no retry")
            return
        }
        #expect((125...250).contains(milliseconds))
        run.at(1)
        #expect(run.calls(.timer) == [.register])
    }

    @Test func a403GivesUpStopsTheChildAndExits1() {
        var run = MachineRun(check: false)
        run.send(.started)
        let refused = run.send(.registered(.rejected(status: 403, message: "id pay-1 belongs to service payments")))
        #expect(MachineRun.logs(refused).first?.contains("register refused: 403 id pay-1 belongs to service payments") == true)
        #expect(refused.contains(.signalChild(Signals.terminate)), "\(refused)")
        // No retry: the next thing that happens is the child's exit, and the sidecar exits 1.
        #expect(run.calls(.childExited(.exited(0))) == [.exit(1)])
    }

    @Test func a403OnAHeartbeatGivesUpWithoutAChild() {
        var run = MachineRun(check: false, child: false)
        run.send(.started)
        run.send(.registered(.success(.init(id: "web-1", ttl: 30))))
        run.at(10)
        #expect(run.calls(.timer) == [.heartbeat(id: "web-1")])
        #expect(run.calls(.heartbeated(.rejected(status: 403, message: "token may not write service orders"))) == [.exit(1)])
    }

    @Test func theDefaultAddressIsTheFirstUpNonLoopbackIPv4() {
        func interface(_ name: String, _ address: String, up: Bool = true, loopback: Bool = false) -> InterfaceAddress {
            let parsed = SocketAddress(parsing: address.contains(":") ? "[\(address)]:0" : "\(address):0")!
            return InterfaceAddress(name: name, address: parsed, isUp: up, isLoopback: loopback)
        }
        #expect(SidecarConfig.defaultAddress([]) == "127.0.0.1")
        #expect(SidecarConfig.defaultAddress([interface("lo", "127.0.0.1", loopback: true)]) == "127.0.0.1")
        #expect(
            SidecarConfig.defaultAddress([
                interface("lo", "127.0.0.1", loopback: true), interface("eth0", "fe80::1"),
                interface("eth1", "10.9.9.9", up: false), interface("eth0", "10.0.0.5"), interface("eth2", "10.0.0.6"),
            ]) == "10.0.0.5")
    }

    @Test func theHostsInterfacesIncludeLoopback() throws {
        let interfaces = try Posix.interfaceAddresses()
        #expect(interfaces.contains { $0.isLoopback && $0.address.hostText == "127.0.0.1" })
    }
}
