import EtcdStore
import HTTPWire
import Leases
import Primitives
import PosixIO
import Synchronization
import TestSupport
import Testing

/// Just enough of etcd's gateway for one node's heartbeat path: leases, puts, an empty prefix, and a
/// watch that delivers `watchEvents` (one line of JSON) after it is created.
final class MiniEtcd: Sendable {
    struct State {
        var nextLease: Int64 = 1_000
        var leases: [Int64: Int64] = [:]
        /// What `timetolive` answers for a lease, when set (else its granted TTL).
        var remaining: [Int64: Int64] = [:]
        var revision: Int64 = 2
        var failKeepAlives = false
        /// Keep-alive requests still to be answered with no reply lines at all (a stream ended early).
        var emptyKeepAliveReplies = 0
        var watchEvents = ""
    }

    final class Shared: Sendable {
        let state = Locked(State())
    }

    private let shared = Shared()
    private let gateway = Locked<FakeGateway?>(nil)

    init() throws {
        let gateway = try FakeGateway { [shared] path, body in Self.answer(path, body, shared.state) }
        self.gateway.withLock { $0 = gateway }
    }

    var state: Locked<State> { _read { yield shared.state } }

    var address: SocketAddress { gateway.withLock { $0! }.address }
    var requests: [(path: String, body: String)] { gateway.withLock { $0! }.requests }
    func stop() { gateway.withLock { $0 }?.stop() }

    /// How many keep-alive messages named `lease`.
    func keepAlives(of lease: Int64) -> Int {
        requests.filter { $0.path == "/v3/lease/keepalive" }.flatMap { $0.body.split(separator: "\n") }
            .filter { $0 == #"{"ID":"\#(lease)"}"# }.count
    }

    /// The puts of marker keys: (key, lease, leases listed).
    var markers: [(key: String, cover: Int64, leases: [Int64])] {
        requests.filter { $0.path == "/v3/kv/put" }.compactMap { request in
            guard let json = try? JSONParser.parse(Array(request.body.utf8)),
                let key = json["key"]?.stringValue.flatMap(Base64.decodeString), key.hasPrefix(RenewalMarker.prefix),
                let value = json["value"]?.stringValue.flatMap(Base64.decode), let leases = RenewalMarker.decode(value)
            else { return nil }
            return (key, Int64(json["lease"]?.stringValue ?? "") ?? 0, leases)
        }
    }

    static func chunk(_ text: String) -> String { String(text.utf8.count, radix: 16) + "\r\n" + text + "\r\n" }

    private static func answer(_ path: String, _ body: String, _ state: borrowing Locked<State>) -> FakeGateway.Answer {
        let json = try? JSONParser.parse(Array(body.utf8))
        let id = Int64(json?["ID"]?.stringValue ?? "") ?? 0
        return state.withLock { state -> FakeGateway.Answer in
            let header = #"{"revision":"\#(state.revision)"}"#
            switch path {
            case "/v3/lease/grant":
                let ttl = Int64(json?["TTL"]?.stringValue ?? "") ?? 0
                state.nextLease += 1
                state.leases[state.nextLease] = ttl
                return .reply(200, #"{"header":\#(header),"ID":"\#(state.nextLease)","TTL":"\#(ttl)"}"#)
            case "/v3/kv/put":
                state.revision += 1
                return .reply(200, #"{"header":{"revision":"\#(state.revision)"}}"#)
            case "/v3/kv/range":
                return .reply(200, #"{"header":\#(header)}"#)
            case "/v3/lease/revoke":
                state.leases[id] = nil
                return .reply(200, #"{"header":\#(header)}"#)
            case "/v3/lease/timetolive":
                let ttl = state.remaining[id] ?? state.leases[id] ?? -1
                return .reply(200, #"{"header":\#(header),"ID":"\#(id)","TTL":"\#(ttl)","grantedTTL":"\#(state.leases[id] ?? 0)"}"#)
            case "/v3/lease/keepalive":
                if state.failKeepAlives { return .close }
                if state.emptyKeepAliveReplies > 0 {
                    state.emptyKeepAliveReplies -= 1
                    return .raw("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
                }
                var lines = ""
                for line in body.split(separator: "\n") {
                    let lease = Int64((try? JSONParser.parse(Array(line.utf8)))?["ID"]?.stringValue ?? "") ?? 0
                    let ttl = state.leases[lease].map { #","TTL":"\#($0)""# } ?? ""
                    lines += chunk(#"{"result":{"header":\#(header),"ID":"\#(lease)"\#(ttl)}}"# + "\n")
                }
                return .raw("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + lines + "0\r\n\r\n")
            case "/v3/watch":
                let created = #"{"result":{"header":\#(header),"created":true}}"# + "\n"
                let events = state.watchEvents.isEmpty ? "" : chunk(state.watchEvents + "\n")
                return .stream("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk(created) + events)
            default:
                return .reply(404, #"{"error":"not here","message":"not here"}"#)
            }
        }
    }
}

/// One node's heartbeat path against `MiniEtcd`, on a clock the test moves (the threads still sleep
/// in real time, at most a second at a time, so each wait below is bounded by a few seconds).
@Suite(.serialized) struct HeartbeatPathTests {
    let etcd: MiniEtcd
    let clock = ManualClock()
    let registry = Registry()
    let store: EtcdStore

    init() throws {
        etcd = try MiniEtcd()
        store = try EtcdStore(endpoints: [etcd.address], registry: registry, log: Log(level: .error) { _ in }, clock: clock.closure)
    }

    func finish() {
        store.stop()
        etcd.stop()
    }

    static func spec(_ id: String, ttl: UInt32 = 30) -> InstanceSpec {
        InstanceSpec(service: "s", function: "f", id: id, address: IPAddress("10.0.0.1")!, port: 80, ttl: ttl)
    }

    func eventually(_ milliseconds: Int = 4_000, _ condition: () -> Bool) -> Bool {
        for _ in 0..<(milliseconds / 10) {
            if condition() { return true }
            Posix.sleep(milliseconds: 10)
        }
        return condition()
    }

    func complete(_ start: (@escaping @Sendable (Result<Instance, StoreError>) -> Void) -> Void) -> Result<Instance, StoreError>? {
        let result = Locked<Result<Instance, StoreError>?>(nil)
        start { outcome in result.withLock { $0 = outcome } }
        _ = eventually { result.withLock { $0 } != nil }
        return result.withLock { $0 }
    }

    func register(_ spec: InstanceSpec) throws -> Int64 {
        _ = try #require(try complete { store.register(spec, allowedServices: nil, completion: $0) }?.get())
        return try #require(store.mirror.record(id: spec.id)?.lease)
    }

    @Test func heartbeatsWithHalfTheTTLLeftAreAnsweredAtOnceAndShareOneLaterKeepAlive() throws {
        defer { finish() }
        #expect(store.start())
        let lease = try register(Self.spec("a"))
        let registered = clock.now
        for _ in 0..<3 { #expect(try store.renewImmediately(id: "a")?.get().id == "a") }
        clock.advance(seconds: 14)
        #expect(try store.renewImmediately(id: "a")?.get().id == "a", "16 s left of 30: still at once")
        clock.advance(seconds: 5)
        Posix.sleep(milliseconds: 1_200)
        #expect(etcd.keepAlives(of: lease) == 0, "nothing goes to etcd until the keep-alive is due")
        clock.advance(seconds: 1)  // 10 s before the deadline: renewalLead(30)
        #expect(eventually { etcd.keepAlives(of: lease) == 1 }, "four heartbeats, one keep-alive")
        #expect(eventually { registry.instance(id: "a", now: clock.now)?.deadline == registered.adding(seconds: 50) })
        // Covers lapsed while nothing was sent, so this owed-only batch had one granted first. Its
        // marker follows once that cover is closed (nothing replaced it: after 2.5 s), attached to it:
        // a lease 2 s shorter than the TTL.
        clock.advance(milliseconds: 2_600)
        #expect(eventually { !etcd.markers.isEmpty })
        let marker = try #require(etcd.markers.first)
        #expect(marker.key == RenewalMarker.key(node: store.node, ttl: 30) && marker.leases == [lease])
        #expect(etcd.state.withLock { $0.leases[marker.cover] } == 28)
        #expect(store.metrics.heartbeatsAnsweredAtOnce.load(ordering: .relaxed) == 4)
        #expect(registry.counters.heartbeats.load(ordering: .relaxed) == 4)
    }

    @Test func aHeartbeatCloseToTheDeadlineWaitsForAKeepAliveSentAfterIt() throws {
        defer { finish() }
        #expect(store.start())
        let lease = try register(Self.spec("a"))
        clock.advance(seconds: 16)
        #expect(store.renewImmediately(id: "a") == nil, "14 s left of 30")
        let renewed = try #require(try complete { store.renew(id: "a", completion: $0) }?.get())
        #expect(renewed.deadline == clock.now.adding(seconds: 30))
        #expect(etcd.keepAlives(of: lease) == 1 && store.metrics.heartbeatsWaited.load(ordering: .relaxed) == 1)
        guard case .failure(.lease(.unknownInstance("nobody")))? = complete({ store.renew(id: "nobody", completion: $0) }) else {
            Issue.record("an id etcd does not have: 404")
            return
        }
    }

    @Test func aKeepAliveWithoutAReplyLineIsSentAgainNotAnswered404() throws {
        defer { finish() }
        #expect(store.start())
        let lease = try register(Self.spec("a"))
        etcd.state.withLock { $0.emptyKeepAliveReplies = 1 }
        clock.advance(seconds: 16)
        let renewed = try #require(try complete { store.renew(id: "a", completion: $0) }?.get())
        #expect(renewed.deadline == clock.now.adding(seconds: 30))
        #expect(etcd.keepAlives(of: lease) == 2, "the first request said nothing about it")
        #expect(store.metrics.keepAlivesUnanswered.load(ordering: .relaxed) == 1)
    }

    @Test func whileKeepAlivesFailHeartbeatsGet503AndNoneIsAnsweredAtOnce() throws {
        defer { finish() }
        #expect(store.start())
        _ = try register(Self.spec("a"))
        etcd.state.withLock { $0.failKeepAlives = true }
        clock.advance(seconds: 16)
        guard case .failure(.unavailable)? = complete({ store.renew(id: "a", completion: $0) }) else {
            Issue.record("expected a 503")
            return
        }
        _ = try register(Self.spec("b"))
        #expect(store.renewImmediately(id: "b") == nil, "a fresh confirmation, but keep-alives are failing")
        etcd.state.withLock { $0.failKeepAlives = false }
        #expect(try complete { store.renew(id: "b", completion: $0) }?.get().id == "b")
        #expect(try store.renewImmediately(id: "b")?.get().id == "b", "answered at once again")
        #expect(store.metrics.keepAliveRequestFailures.load(ordering: .relaxed) >= 1)
    }

    @Test func anotherNodesMarkerExtendsItsInstancesAfterOneReadOfTheCoverLease() throws {
        defer { finish() }
        func kv(_ key: String, _ value: [UInt8], lease: Int64, revision: Int) -> String {
            #"{"kv":{"key":"\#(Base64.encode(key))","mod_revision":"\#(revision)","value":"\#(Base64.encode(value))","lease":"\#(lease)"}}"#
        }
        // Two instances registered elsewhere under cover lease 700, then a marker listing one of them.
        let events = [
            kv(SpecCodec.key(id: "w1"), SpecCodec.encode(Self.spec("w1"), cover: 700), lease: 500, revision: 3),
            kv(SpecCodec.key(id: "w2"), SpecCodec.encode(Self.spec("w2"), cover: 700), lease: 501, revision: 4),
            kv(RenewalMarker.key(node: "other", ttl: 30), RenewalMarker.encode([500]), lease: 600, revision: 5),
        ]
        etcd.state.withLock { state in
            state.leases = [500: 30, 501: 30, 600: 28, 700: 28]
            state.remaining = [700: 12, 600: 25]
            state.watchEvents = #"{"result":{"header":{"revision":"5"},"events":[\#(events.joined(separator: ","))]}}"#
        }
        let start = clock.now
        #expect(store.start())
        #expect(eventually { registry.instance(id: "w1", now: start)?.deadline == start.adding(seconds: 25) })
        #expect(registry.instance(id: "w2", now: start)?.deadline == start.adding(seconds: 12), "from the cover lease")
        let reads = etcd.requests.filter { $0.path == "/v3/lease/timetolive" }.map(\.body)
        #expect(reads == [#"{"ID":"700"}"#, #"{"ID":"600"}"#], "one read per cover lease, none per instance")
        #expect(store.metrics.markersApplied.load(ordering: .relaxed) == 1)
        #expect(store.metrics.renewalsLearned.load(ordering: .relaxed) == 1)
    }

    @Test func registrationsNameTheCoverLeaseCurrentBeforeTheirGrant() throws {
        defer { finish() }
        #expect(store.start())
        _ = try register(Self.spec("a"))
        #expect(eventually { store.metrics.coverLeasesGranted.load(ordering: .relaxed) == 1 }, "asked for by the first")
        _ = try register(Self.spec("b"))
        let puts = etcd.requests.filter { $0.path == "/v3/kv/put" }.compactMap { request -> String? in
            guard let json = try? JSONParser.parse(Array(request.body.utf8)) else { return nil }
            return json["value"]?.stringValue.flatMap(Base64.decode).map { String(decoding: $0, as: UTF8.self) }
        }
        #expect(puts.count == 2 && !puts[0].contains("cover") && puts[1].contains(#""cover":""#), "\(puts)")
    }
}
