import BeaconCLI
import PosixIO
import Testing

@Suite("Sidecar state machine: signals, drain and the child's exit")
struct SidecarShutdownTests {
    typealias Action = SidecarMachine.Action
    let term = Signals.terminate

    @Test func sigtermDeregistersFirstThenDrainsThenPassesTheSignalOn() {
        var run = MachineRun(check: false)
        run.register()
        run.at(5)
        // Nothing reaches the child before the deregistration has been answered.
        let first = run.send(.signal(term))
        #expect(first.last == .deregister(id: "web-1"))
        #expect(!first.contains(.signalChild(term)))
        let drained = run.send(.deregistered(.success(4.5)))
        #expect(drained.last == .wait(milliseconds: 4_500))
        #expect(MachineRun.logs(drained) == ["deregistered web-1, drain 4.5 s"])
        // An early wake (a stray SIGCHLD) does not cut the drain short.
        run.at(7)
        #expect(run.calls(.timer) == [.wait(milliseconds: 2_500)])
        run.at(9.5)
        let stop = run.send(.timer)
        #expect(
            stop.filter { if case .log = $0 { false } else { true } } == [
                .signalChild(term), .wait(milliseconds: 60_000),
            ])
        #expect(run.calls(.childExited(.signaled(term))) == [.exit(128 + term)])
    }

    @Test func noHeartbeatOrCheckRunsDuringTheDrain() {
        var run = MachineRun()
        run.register()
        run.send(.signal(term))
        run.send(.deregistered(.success(20)))
        for second in 1...19 {
            run.at(Double(second))
            #expect(run.calls(.timer) == [.wait(milliseconds: (20 - second) * 1000)])
        }
    }

    @Test func theDrainIsCappedByDrainMax() {
        var run = MachineRun(check: false, drainMax: 3)
        run.register()
        run.send(.signal(term))
        let drained = run.send(.deregistered(.success(28.25)))
        #expect(drained.last == .wait(milliseconds: 3_000))
        #expect(MachineRun.logs(drained).first?.contains("capped by --drain-max") == true)
    }

    @Test func aZeroDrainMaxPassesTheSignalOnRightAfterDeregistering() {
        var run = MachineRun(check: false, drainMax: 0)
        run.register()
        run.send(.signal(term))
        #expect(run.calls(.deregistered(.success(12))) == [.signalChild(term), .wait(milliseconds: 60_000)])
    }

    @Test func aSecondSignalEndsTheDrainEarly() {
        var run = MachineRun(check: false)
        run.register()
        run.send(.signal(term))
        run.send(.deregistered(.success(20)))
        run.at(1)
        let second = run.send(.signal(Signals.interrupt))
        #expect(second.contains(.signalChild(Signals.interrupt)))
        #expect(MachineRun.logs(second).first?.contains("ending the drain early") == true)
        // A third goes straight to the child too.
        #expect(run.calls(.signal(term)) == [.signalChild(term), .wait(milliseconds: 60_000)])
    }

    @Test func sigintIsHandledLikeSigtermAndPassedOnAsSigint() {
        var run = MachineRun(check: false)
        run.register()
        #expect(run.calls(.signal(Signals.interrupt)) == [.deregister(id: "web-1")])
        run.send(.deregistered(.success(1)))
        run.at(1)
        #expect(run.calls(.timer) == [.signalChild(Signals.interrupt), .wait(milliseconds: 60_000)])
    }

    @Test func sighupIsPassedOnAtOnceAndChangesNothingElse() {
        var run = MachineRun(check: false)
        run.register()
        run.at(2)
        #expect(run.calls(.signal(Signals.hangUp)) == [.signalChild(Signals.hangUp), .wait(milliseconds: 8_000)])
        run.at(10)
        #expect(run.calls(.timer) == [.heartbeat(id: "web-1")])
    }

    @Test func sighupWithoutAChildIsIgnored() {
        var run = MachineRun(check: false, child: false)
        run.register()
        #expect(run.calls(.signal(Signals.hangUp)) == [.wait(milliseconds: 10_000)])
    }

    @Test func aSignalBeforeRegistrationGoesToTheChildAtOnce() {
        var run = MachineRun()
        run.send(.started)
        run.send(.checked(.init(passed: false, detail: "refused")))
        #expect(run.calls(.signal(term)) == [.signalChild(term), .wait(milliseconds: 60_000)])
        #expect(run.calls(.childExited(.exited(0))) == [.exit(0)])
    }

    @Test func anUnhealthyInstanceIsStillDeregisteredOnTheWayOut() {
        var run = MachineRun(interval: 1)
        run.register(ttl: 30)
        run.at(1)
        run.send(.timer)
        run.send(.checked(.init(passed: false, detail: "503")))
        #expect(run.calls(.signal(term)) == [.deregister(id: "web-1")])
    }

    @Test func aDeregistrationAnswered404MeansNothingToDrain() {
        var run = MachineRun(check: false)
        run.register()
        run.send(.signal(term))
        #expect(run.calls(.deregistered(.notFound)) == [.signalChild(term), .wait(milliseconds: 60_000)])
    }

    @Test func anUnreachableServerAtShutdownWaitsForTheLeaseToEnd() {
        var run = MachineRun(check: false)
        run.register(ttl: 10)
        run.at(3)
        run.send(.timer)
        run.send(.heartbeated(.success(3)))  // the lease now ends at 13 s
        run.at(5)
        run.send(.signal(term))
        let drained = run.send(.deregistered(.unreachable("connection refused")))
        #expect(drained.last == .wait(milliseconds: 8_000))
        #expect(MachineRun.logs(drained).first?.contains("waiting 8 s for its lease to end") == true)
    }

    @Test func theChildExitingOnItsOwnDeregistersAtOnceAndExitsWithItsStatus() {
        var run = MachineRun(check: false)
        run.register()
        run.at(4)
        let exited = run.send(.childExited(.exited(3)))
        #expect(exited.last == .deregister(id: "web-1"))
        #expect(MachineRun.logs(exited).first == "child exited with status 3")
        // No drain: there is nothing left to serve.
        #expect(run.calls(.deregistered(.success(25))) == [.exit(3)])
    }

    @Test func aChildKilledByASignalGivesStatus128PlusTheSignal() {
        var run = MachineRun(check: false)
        run.register()
        run.send(.childExited(.signaled(9)))
        #expect(run.calls(.deregistered(.unreachable("refused"))) == [.exit(137)])
    }

    @Test func aChildThatExitsBeforeRegistrationEndsTheSidecarWithItsStatus() {
        var run = MachineRun()
        run.send(.started)
        run.send(.checked(.init(passed: false, detail: "refused")))
        #expect(run.calls(.childExited(.exited(2))) == [.exit(2)])
    }

    @Test func aChildThatExitsDuringTheDrainEndsItAtOnce() {
        var run = MachineRun(check: false)
        run.register()
        run.send(.signal(term))
        run.send(.deregistered(.success(10)))
        run.at(2)
        #expect(run.calls(.childExited(.exited(0))) == [.exit(0)])
    }

    @Test func withoutAChildASignalDeregistersWaitsTheDrainAndExitsZero() {
        var run = MachineRun(check: false, child: false)
        run.register()
        #expect(run.calls(.signal(term)) == [.deregister(id: "web-1")])
        #expect(run.calls(.deregistered(.success(2))) == [.wait(milliseconds: 2_000)])
        run.at(2)
        #expect(run.calls(.timer) == [.exit(0)])
    }

    @Test func withoutAChildOrARegistrationASignalExitsZeroAtOnce() {
        var run = MachineRun(child: false)
        run.send(.started)
        run.send(.checked(.init(passed: false, detail: "refused")))
        #expect(run.calls(.signal(Signals.interrupt)) == [.exit(0)])
    }

    @Test func aCallResultArrivingAfterShutdownBeganIsIgnored() {
        var run = MachineRun(check: false)
        run.register()
        run.send(.signal(term))
        run.send(.deregistered(.success(5)))
        run.at(1)
        // Stale outcomes never restart heartbeats or registration.
        #expect(run.calls(.heartbeated(.success(3))) == [.wait(milliseconds: 4_000)])
        #expect(run.calls(.registered(.success(.init(id: "web-1", ttl: 30)))) == [.wait(milliseconds: 4_000)])
        #expect(run.calls(.checked(.init(passed: true, detail: ""))) == [.wait(milliseconds: 4_000)])
    }
}
