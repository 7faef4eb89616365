import EtcdStore
import HTTPWire
import Leases
import Primitives
import PosixIO
import Synchronization
import TestSupport
import Testing

/// Just enough of etcd's gateway for one node's heartbeat path: leases, keys (no leases on instance
/// keys), conditional deletes, prefix reads, and a watch that delivers `watchEvents` (one line of
/// JSON) after it is created.
final class MiniEtcd: Sendable {
    struct Key {
        var value: [UInt8]
        var created: Int64
        var modified: Int64
        var lease: Int64
    }

    struct State {
        var nextLease: Int64 = 1_000
        var leases: [Int64: Int64] = [:]
        /// What `timetolive` answers for a lease, when set (else its granted TTL).
        var remaining: [Int64: Int64] = [:]
        var keys: [String: Key] = [:]
        var revision: Int64 = 2
        var failGrants = false
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

    func count(_ path: String) -> Int { requests.filter { $0.path == path }.count }

    /// The puts of marker keys: (key, lease, create revisions listed).
    var markers: [(key: String, cover: Int64, keys: [Int64])] {
        requests.filter { $0.path == "/v3/kv/put" }.compactMap { request in
            guard let json = try? JSONParser.parse(Array(request.body.utf8)),
                let key = json["key"]?.stringValue.flatMap(Base64.decodeString), key.hasPrefix(RenewalMarker.prefix),
                let value = json["value"]?.stringValue.flatMap(Base64.decode), let keys = RenewalMarker.decode(value)
            else { return nil }
            return (key, Int64(json["lease"]?.stringValue ?? "") ?? 0, keys)
        }
    }

    static func chunk(_ text: String) -> String { String(text.utf8.count, radix: 16) + "\r\n" + text + "\r\n" }

    static func kvJSON(_ key: String, _ entry: Key) -> String {
        #"{"key":"\#(Base64.encode(key))","create_revision":"\#(entry.created)","mod_revision":"\#(entry.modified)","value":"\#(Base64.encode(entry.value))","lease":"\#(entry.lease)"}"#
    }

    private static func answer(_ path: String, _ body: String, _ state: borrowing Locked<State>) -> FakeGateway.Answer {
        let json = try? JSONParser.parse(Array(body.utf8))
        let id = Int64(json?["ID"]?.stringValue ?? "") ?? 0
        let key = json?["key"]?.stringValue.flatMap(Base64.decode).map { String(decoding: $0, as: UTF8.self) } ?? ""
        return state.withLock { state -> FakeGateway.Answer in
            let header = #"{"revision":"\#(state.revision)"}"#
            switch path {
            case "/v3/lease/grant":
                if state.failGrants { return .reply(503, #"{"error":"etcdserver: no leader","message":"etcdserver: no leader"}"#) }
                let ttl = Int64(json?["TTL"]?.stringValue ?? "") ?? 0
                state.nextLease += 1
                state.leases[state.nextLease] = ttl
                return .reply(200, #"{"header":\#(header),"ID":"\#(state.nextLease)","TTL":"\#(ttl)"}"#)
            case "/v3/kv/put":
                state.revision += 1
                let previous = state.keys[key]
                let value = json?["value"]?.stringValue.flatMap(Base64.decode) ?? []
                let lease = Int64(json?["lease"]?.stringValue ?? "") ?? 0
                state.keys[key] = Key(value: value, created: previous?.created ?? state.revision, modified: state.revision, lease: lease)
                let prev = previous.map { #","prev_kv":\#(kvJSON(key, $0))"# } ?? ""
                return .reply(200, #"{"header":{"revision":"\#(state.revision)"}\#(prev)}"#)
            case "/v3/kv/range":
                let end = json?["range_end"]?.stringValue.flatMap(Base64.decode).map { String(decoding: $0, as: UTF8.self) }
                let from = key
                let matching = state.keys.keys.sorted().filter { end == nil ? $0 == from : ($0 >= from && $0 < end!) }
                let kvs = matching.map { kvJSON($0, state.keys[$0]!) }.joined(separator: ",")
                return .reply(200, #"{"header":\#(header),"kvs":[\#(kvs)],"count":"\#(matching.count)"}"#)
            case "/v3/kv/deleterange":
                guard let previous = state.keys.removeValue(forKey: key) else { return .reply(200, #"{"header":\#(header)}"#) }
                state.revision += 1
                return .reply(200, #"{"header":{"revision":"\#(state.revision)"},"deleted":"1","prev_kvs":[\#(kvJSON(key, previous))]}"#)
            case "/v3/kv/txn":
                let compare = json?["compare"]?[0]
                let target = compare?["key"]?.stringValue.flatMap(Base64.decode).map { String(decoding: $0, as: UTF8.self) } ?? ""
                let expected = Int64(compare?["mod_revision"]?.stringValue ?? "") ?? -1
                guard state.keys[target]?.modified == expected else { return .reply(200, #"{"header":\#(header)}"#) }
                state.keys[target] = nil
                state.revision += 1
                return .reply(200, #"{"header":{"revision":"\#(state.revision)"},"succeeded":true}"#)
            case "/v3/lease/timetolive":
                let ttl = state.remaining[id] ?? state.leases[id] ?? -1
                return .reply(200, #"{"header":\#(header),"ID":"\#(id)","TTL":"\#(ttl)","grantedTTL":"\#(state.leases[id] ?? 0)"}"#)
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

    func complete(
        within milliseconds: Int = 4_000, _ start: (@escaping @Sendable (Result<Instance, StoreError>) -> Void) -> Void
    ) -> Result<Instance, StoreError>? {
        let result = Locked<Result<Instance, StoreError>?>(nil)
        start { outcome in result.withLock { $0 = outcome } }
        _ = eventually(milliseconds) { result.withLock { $0 } != nil }
        return result.withLock { $0 }
    }

    /// Registers `spec` and returns its key's create revision.
    func register(_ spec: InstanceSpec) throws -> Int64 {
        _ = try #require(try complete { store.register(spec, allowedServices: nil, completion: $0) }?.get())
        return try #require(store.mirror.record(id: spec.id)?.created)
    }

    @Test func heartbeatsAreAnsweredAtOnceUnderTheCoverAndReachOtherNodesInOneMarker() throws {
        defer { finish() }
        #expect(store.start())
        let created = try register(Self.spec("a"))
        let start = clock.now
        #expect(registry.instance(id: "a", now: start)?.deadline == start.adding(seconds: 30), "the cover granted for it")
        let before = etcd.requests.count
        for _ in 0..<3 { #expect(try store.renewImmediately(id: "a")?.get().id == "a") }
        #expect(etcd.requests.count == before, "no request per heartbeat")
        clock.advance(milliseconds: 600)
        #expect(eventually { etcd.markers.count == 1 }, "the used cover is replaced after its epoch, and its marker put")
        let marker = try #require(etcd.markers.first)
        let firstCover = Int64(1_001)
        #expect(marker.key == RenewalMarker.key(node: store.node, ttl: 30, cover: firstCover) && marker.cover == firstCover)
        #expect(marker.keys == [created], "three heartbeats of one instance, listed once")
        #expect(etcd.state.withLock { $0.leases[firstCover] } == 30)
        #expect(try store.renewImmediately(id: "a")?.get().deadline == clock.now.adding(seconds: 30), "under the new cover")
        #expect(store.metrics.heartbeatsAnsweredAtOnce.load(ordering: .relaxed) == 4)
        #expect(registry.counters.heartbeats.load(ordering: .relaxed) == 4)
    }

    @Test func withNoYoungCoverAHeartbeatWaitsForAGrantAnd503WhenThereIsNone() throws {
        defer { finish() }
        #expect(store.start())
        _ = try register(Self.spec("a"))
        etcd.state.withLock { $0.failGrants = true }
        clock.advance(seconds: 3)
        #expect(store.renewImmediately(id: "a") == nil, "the cover is older than 2 s: not stretched")
        // etcd answers 503 (no leader): the call rides out an election for 4 s first.
        guard case .failure(.unavailable)? = complete(within: 10_000, { store.renew(id: "a", completion: $0) }) else {
            Issue.record("expected a 503")
            return
        }
        let grants = etcd.count("/v3/lease/grant")
        guard case .failure(.unavailable)? = complete({ store.renew(id: "a", completion: $0) }) else {
            Issue.record("expected a 503 at once, from the grant that just failed")
            return
        }
        #expect(etcd.count("/v3/lease/grant") == grants, "no grant tried again within a second of a failure")
        etcd.state.withLock { $0.failGrants = false }
        clock.advance(milliseconds: 1_100)
        let renewed = try #require(try complete { store.renew(id: "a", completion: $0) }?.get())
        #expect(renewed.deadline == clock.now.adding(seconds: 30))
        #expect(store.metrics.heartbeatsWaited.load(ordering: .relaxed) == 1)
        #expect(try store.renewImmediately(id: "a")?.get().id == "a", "answered at once again")
    }

    @Test func aHeartbeatForAnEndedOrUnknownInstanceIs404() throws {
        defer { finish() }
        #expect(store.start())
        _ = try register(Self.spec("a", ttl: 5))
        clock.advance(seconds: 6)
        #expect(store.renewImmediately(id: "a") == nil)
        guard case .failure(.lease(.unknownInstance("a")))? = complete({ store.renew(id: "a", completion: $0) }) else {
            Issue.record("a lease that ended is not renewed, though its key is still in etcd")
            return
        }
        guard case .failure(.lease(.unknownInstance("nobody")))? = complete({ store.renew(id: "nobody", completion: $0) }) else {
            Issue.record("an id etcd does not have: 404")
            return
        }
    }

    @Test func anotherNodesMarkerExtendsItsInstancesAfterOneReadOfTheCoverLease() throws {
        defer { finish() }
        func kv(_ key: String, _ value: [UInt8], lease: Int64, created: Int64) -> String {
            #"{"kv":\#(MiniEtcd.kvJSON(key, MiniEtcd.Key(value: value, created: created, modified: created, lease: lease)))}"#
        }
        // Two instances registered elsewhere under cover lease 700, then a marker listing one of them.
        let events = [
            kv(SpecCodec.key(id: "w1"), SpecCodec.encode(Self.spec("w1"), cover: 700), lease: 0, created: 3),
            kv(SpecCodec.key(id: "w2"), SpecCodec.encode(Self.spec("w2"), cover: 700), lease: 0, created: 4),
            kv(RenewalMarker.key(node: "other", ttl: 30, cover: 600), RenewalMarker.encode([3]), lease: 600, created: 5),
        ]
        etcd.state.withLock { state in
            state.leases = [600: 30, 700: 30]
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

    @Test func aOneSecondInstanceFromAnotherNodeCanBeHeartbeatedHereUntilItsTTLHasPassed() throws {
        defer { finish() }
        // Registered elsewhere with TTL 1 under cover 700, which etcd raised to 2 s: 1 s left, less
        // the second etcd added, leaves this node no deadline at all.
        let key = MiniEtcd.Key(value: SpecCodec.encode(Self.spec("w", ttl: 1), cover: 700), created: 3, modified: 3, lease: 0)
        etcd.state.withLock { state in
            state.leases = [700: 2]
            state.remaining = [700: 1]
            state.watchEvents = #"{"result":{"header":{"revision":"3"},"events":[{"kv":\#(MiniEtcd.kvJSON(SpecCodec.key(id: "w"), key))}]}}"#
        }
        #expect(store.start())
        #expect(eventually { store.mirror.record(id: "w") != nil })
        #expect(registry.instance(id: "w", now: clock.now) == nil, "not answered here")
        clock.advance(milliseconds: 500)
        #expect(store.renewImmediately(id: "w") == nil)
        let renewed = try #require(try complete { store.renew(id: "w", completion: $0) }?.get())
        #expect(renewed.deadline == clock.now.adding(seconds: 1), "under this node's own cover")
        #expect(registry.instance(id: "w", now: clock.now) != nil, "answered here from now on")
        clock.advance(milliseconds: 2_500)
        guard case .failure(.lease(.unknownInstance("w")))? = complete({ store.renew(id: "w", completion: $0) }) else {
            Issue.record("nothing has vouched for it for longer than its TTL: 404")
            return
        }
    }

    @Test func aFullReadTakesTheLiveMarkersWithTheKeys() throws {
        defer { finish() }
        etcd.state.withLock { state in
            state.keys[SpecCodec.key(id: "renewed")] = .init(value: SpecCodec.encode(Self.spec("renewed"), cover: 700), created: 3, modified: 3, lease: 0)
            state.keys[SpecCodec.key(id: "ended")] = .init(value: SpecCodec.encode(Self.spec("ended"), cover: 700), created: 4, modified: 4, lease: 0)
            state.keys[RenewalMarker.key(node: "gone", ttl: 30, cover: 600)] = .init(value: RenewalMarker.encode([3]), created: 5, modified: 5, lease: 600)
            state.leases = [600: 30]  // 700 has ended
            state.remaining = [600: 20]
            state.revision = 5
        }
        let start = clock.now
        #expect(store.start())
        #expect(registry.instance(id: "renewed", now: start)?.deadline == start.adding(seconds: 20), "vouched for by the marker")
        #expect(registry.instance(id: "ended", now: start) == nil, "no live cover vouches for it")
        #expect(store.mirror.record(id: "ended") != nil, "mirrored, until its key is collected")
    }

    @Test func theKeyOfAnEndedInstanceIsDeletedAfterItsGraceUnlessWrittenAgain() throws {
        defer { finish() }
        #expect(store.start())
        let start = clock.now
        for id in ["a", "b", "c"] { _ = try register(Self.spec(id, ttl: 5)) }
        // c is written again by someone this node has not heard from yet (its watch is silent here):
        // the delete must not take that write with it.
        etcd.state.withLock { $0.keys[SpecCodec.key(id: "c")]!.modified += 100 }
        clock.advance(seconds: 6)
        _ = try register(Self.spec("b", ttl: 5))  // b comes back: vouched for again from now
        // Past a's grace (10 s) plus this node's share (under 5 s), not b's (10 s from now at least).
        clock.advance(milliseconds: 9_900)
        #expect(eventually { etcd.state.withLock { $0.keys[SpecCodec.key(id: "a")] } == nil }, "a collected")
        #expect(eventually { store.mirror.record(id: "a")?.spec == nil }, "gone, or a tombstone until the watch passes it")
        #expect(eventually { etcd.count("/v3/kv/txn") >= 2 }, "c tried too")
        Posix.sleep(milliseconds: 1_200)
        #expect(store.metrics.keysCollected.load(ordering: .relaxed) == 1)
        #expect(etcd.state.withLock { $0.keys[SpecCodec.key(id: "c")] } != nil, "c's newer revision was not deleted")
        #expect(etcd.state.withLock { $0.keys[SpecCodec.key(id: "b")] } != nil, "b was written again since")
        #expect(clock.now.nanoseconds - start.nanoseconds == 15_900_000_000)
    }

    @Test func registrationsNameTheCoverTheyAreAliveUnder() throws {
        defer { finish() }
        #expect(store.start())
        _ = try register(Self.spec("a"))
        _ = try register(Self.spec("b"))
        let puts = etcd.requests.filter { $0.path == "/v3/kv/put" }.compactMap { request -> String? in
            guard let json = try? JSONParser.parse(Array(request.body.utf8)) else { return nil }
            #expect(json["lease"] == nil, "instance keys carry no lease")
            return json["value"]?.stringValue.flatMap(Base64.decode).map { String(decoding: $0, as: UTF8.self) }
        }
        #expect(puts.count == 2 && puts.allSatisfy { $0.contains(#""cover":"1001""#) }, "\(puts)")
        #expect(store.metrics.coverLeasesGranted.load(ordering: .relaxed) == 1, "one grant for both")
    }
}
