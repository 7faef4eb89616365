import PosixIO

/// The way out: signals, the deregistration and its drain, and the child's exit.
///
/// Deregistering comes first so that Beacon stops handing the instance out; the drain it returns is
/// how long an answer already given out may still be cached, so the child keeps serving that long
/// (CONTRACT.md `DELETE /v1/instances/{id}`); only then does it get the signal.
extension SidecarMachine {
    mutating func received(_ signal: CInt, now: Instant) -> [Action] {
        let name = Self.signalName(signal)
        if signal != Signals.interrupt && signal != Signals.terminate {
            guard childRunning else { return [.log("\(name) ignored (no child to pass it to)")] + tick(now: now) }
            return [.log("passing \(name) to the child"), .signalChild(signal)] + tick(now: now)
        }
        switch phase {
        case .draining:
            return [.log("\(name) again: ending the drain early")] + finishDrain(signal, now: now)
        case .stopping:
            return [.log("passing \(name) to the child"), .signalChild(signal)] + tick(now: now)
        case .done:
            return []
        case .awaitingHealth, .registering, .live, .unhealthy:
            shutdown = .signal(signal)
            guard let id = registeredID else {
                return [.log("received \(name); not registered, nothing to drain")] + finishDrain(signal, now: now)
            }
            return [.log("received \(name): deregistering \(id) first"), .deregister(id: id)]
        }
    }

    mutating func deregistered(_ outcome: CallOutcome<Double>, now: Instant) -> [Action] {
        guard let shutdown, let id = registeredID else { return tick(now: now) }
        registeredID = nil
        var drain = Duration.zero
        var actions: [Action] = []
        switch outcome {
        case .success(let seconds):
            drain = min(settings.drainMax, .milliseconds(Int((max(0, seconds) * 1000).rounded(.up))))
            let capped = drain < .milliseconds(Int((seconds * 1000).rounded(.up))) ? " (capped by --drain-max)" : ""
            actions.append(.log("deregistered \(id), drain \(Self.secondsText(drain)) s\(capped)"))
        case .notFound:
            actions.append(.log("deregistered \(id): already gone from Beacon, drain 0 s"))
        case .rejected, .unreachable:
            // Nobody can be told; every cached answer ends with the lease, so wait for that.
            drain = min(settings.drainMax, max(.zero, (leaseEnd ?? now) - now))
            let wait = Self.secondsText(drain)
            actions.append(.log("could not deregister \(id): \(outcome.problem); waiting \(wait) s for its lease to end"))
        }
        switch shutdown {
        case .childExited(let termination):
            phase = .done
            return actions + [.exit(termination.shellStatus)]
        case .signal(let signal):
            guard drain > .zero, childRunning || !settings.hasChild else {
                return actions + finishDrain(signal, now: now)
            }
            phase = .draining(until: now + drain, signal: signal)
            return actions + [.wait(milliseconds: Self.milliseconds(drain))]
        }
    }

    /// The drain is over: pass the signal on and wait for the child, or exit when there is none.
    mutating func finishDrain(_ signal: CInt, now: Instant) -> [Action] {
        guard childRunning else {
            phase = .done
            return [.exit(exitStatus)]
        }
        phase = .stopping
        return [.log("passing \(Self.signalName(signal)) to the child"), .signalChild(signal)] + tick(now: now)
    }

    mutating func childExited(_ termination: ChildProcess.Termination, now: Instant) -> [Action] {
        childRunning = false
        childStatus = termination
        let line: Action =
            switch termination {
            case .exited(let code): .log("child exited with status \(code)")
            case .signaled(let signal): .log("child killed by \(Self.signalName(signal)) (status \(128 + signal))")
            }
        switch phase {
        case .draining, .stopping, .done:
            phase = .done
            return [line, .exit(fatalStatus ?? termination.shellStatus)]
        case .awaitingHealth, .registering, .live, .unhealthy:
            shutdown = .childExited(termination)
            guard let id = registeredID else {
                phase = .done
                return [line, .exit(termination.shellStatus)]
            }
            return [line, .log("deregistering \(id)"), .deregister(id: id)]
        }
    }

    /// 0 without a child; the child's status (128 + signal if a signal ended it) with one.
    var exitStatus: Int32 { fatalStatus ?? childStatus?.shellStatus ?? 0 }

    static func signalName(_ signal: CInt) -> String {
        switch signal {
        case Signals.interrupt: "SIGINT"
        case Signals.terminate: "SIGTERM"
        case Signals.hangUp: "SIGHUP"
        case Signals.kill: "SIGKILL"
        default: "signal \(signal)"
        }
    }
}
