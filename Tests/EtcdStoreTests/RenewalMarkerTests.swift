import EtcdStore
import Leases
import Testing

@Suite struct RenewalMarkerTests {
    @Test func leaseListsRoundTripSortedAndWithoutRepeats() {
        // Real etcd lease ids: one member's counter, with big gaps between members.
        let leases: [Int64] = [7_587_887_165_362_421_541, 7_587_887_165_362_421_538, 1, 7_587_887_165_362_421_541, .max]
        let bytes = RenewalMarker.encode(leases)
        #expect(RenewalMarker.decode(bytes) == [1, 7_587_887_165_362_421_538, 7_587_887_165_362_421_541, .max])
        #expect(RenewalMarker.decode(RenewalMarker.encode([])) == [])
    }

    @Test func neighbouringLeaseIdsCostAboutOneByteEach() {
        let base: Int64 = 7_587_887_165_362_000_000
        let leases = (0..<1_000).map { base + Int64($0) * 3 }
        let bytes = RenewalMarker.encode(leases)
        #expect(bytes.count < 4 + 9 + 1_000 * 2, "\(bytes.count) bytes")
        #expect(RenewalMarker.decode(bytes) == leases)
    }

    @Test func otherValuesAreNotMarkers() {
        #expect(RenewalMarker.decode(Array("{\"service\":\"x\"}".utf8)) == nil)
        #expect(RenewalMarker.decode(Array("BRM".utf8)) == nil)
        var cut = RenewalMarker.encode([300])
        cut.removeLast()
        #expect(RenewalMarker.decode(cut) == nil, "a varint cut in the middle")
        #expect(RenewalMarker.decode(Array("BRM1".utf8) + [UInt8](repeating: 0xFF, count: 11)) == nil, "longer than 64 bits")
    }

    @Test func anyBytesDecodeToAListOrNilAndAnyListRoundTrips() {
        // Marker values come from etcd, where anyone with write access may put anything.
        var generator = SystemRandomNumberGenerator()
        for round in 0..<5_000 {
            var bytes = Array("BRM2".utf8)
            if round % 10 == 0 { bytes.removeLast() }
            bytes += (0..<Int.random(in: 0..<40, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if let decoded = RenewalMarker.decode(bytes) { #expect(decoded.count <= bytes.count) }
            let keys = Set((0..<Int.random(in: 0..<50, using: &generator)).map { _ in Int64.random(in: 1...Int64.max, using: &generator) })
            #expect(RenewalMarker.decode(RenewalMarker.encode(keys)) == keys.sorted())
        }
    }

    @Test func keysNameTheNodeTheTTLAndTheCover() {
        let key = RenewalMarker.key(node: "3f2a", ttl: 30, cover: 7_587_887_165_362_421_541)
        #expect(key == "/beacon/v1/renewals/3f2a/30/7587887165362421541")
        #expect(RenewalMarker.parse(key: key)! == ("3f2a", 30))
        #expect(RenewalMarker.parse(key: "/beacon/v1/instances/a") == nil)
        #expect(RenewalMarker.parse(key: "/beacon/v1/renewals//30/1") == nil)
        #expect(RenewalMarker.parse(key: "/beacon/v1/renewals/a/30") == nil, "the format of another version")
        #expect(RenewalMarker.parse(key: "/beacon/v1/renewals/a/0/1") == nil)
        #expect(SpecCodec.id(key: key) == nil, "never taken for an instance")
    }
}

@Suite struct MarkerEpochsTests {
    let start = Instant(nanoseconds: 1_000_000_000_000)
    func at(milliseconds: Int64) -> Instant { start.adding(milliseconds: milliseconds) }

    @Test func aCoverServesUntilReplacedAndAtMostAQuarterOfTheTTLOrFourEpochs() {
        var epochs = MarkerEpochs()
        let none = epochs.use(instanceTTL: 30, now: start)
        let wanted = epochs.rotationsDue(now: start)
        #expect(none == nil && wanted == [30], "asked for when there is none")
        epochs.start(instanceTTL: 30, cover: 77, grantedTTL: 30, grantSentAt: start)
        let young = epochs.use(instanceTTL: 30, now: at(milliseconds: 400))
        let early = epochs.rotationsDue(now: at(milliseconds: 400))
        #expect(young?.cover == 77 && young?.deadline == start.adding(seconds: 30) && early.isEmpty)
        let old = epochs.use(instanceTTL: 30, now: at(milliseconds: 1_999))
        let due = epochs.rotationsDue(now: at(milliseconds: 1_999))
        #expect(old?.cover == 77 && due == [30], "used past its epoch: replace it")
        let tooOld = epochs.use(instanceTTL: 30, now: at(milliseconds: 2_000))
        #expect(tooOld == nil, "not replaced in time: heartbeats wait for a grant rather than be stretched")
        let other = epochs.use(instanceTTL: 15, now: start)
        #expect(other == nil, "one cover lease per instance TTL")
        // Short TTLs: a quarter of the TTL. Long ones: longer epochs, at most 60 markers alive.
        #expect(MarkerEpochs.servesNanoseconds(ttl: 4) == 1_000_000_000)
        #expect(MarkerEpochs.servesNanoseconds(ttl: 1) == 250_000_000)
        #expect(MarkerEpochs.epochNanoseconds(ttl: 30) == 500_000_000)
        #expect(MarkerEpochs.epochNanoseconds(ttl: 3_600) == 60_000_000_000)
        #expect(MarkerEpochs.servesNanoseconds(ttl: 3_600) == 240_000_000_000)
    }

    @Test func aCoverRaisedByEtcdStillEndsAtTheInstanceTTL() {
        var epochs = MarkerEpochs()
        epochs.start(instanceTTL: 1, cover: 5, grantedTTL: 2, grantSentAt: start)
        #expect(epochs.use(instanceTTL: 1, now: start)?.deadline == start.adding(seconds: 1))
    }

    @Test func anUnusedCoverIsNotReplaced() {
        var epochs = MarkerEpochs()
        epochs.start(instanceTTL: 30, cover: 77, grantedTTL: 30, grantSentAt: start)
        let due = epochs.rotationsDue(now: at(milliseconds: 1_500))
        #expect(due.isEmpty, "no traffic, no grants")
    }

    @Test func aReplacedEpochYieldsWhatWasRenewedUnderItAtOnce() {
        var epochs = MarkerEpochs()
        epochs.start(instanceTTL: 30, cover: 77, grantedTTL: 30, grantSentAt: start)
        _ = epochs.use(instanceTTL: 30, renewing: 1, now: start)
        _ = epochs.use(instanceTTL: 30, renewing: 2, now: at(milliseconds: 100))
        let open = epochs.closeDone(now: at(milliseconds: 600))
        epochs.start(instanceTTL: 30, cover: 78, grantedTTL: 30, grantSentAt: at(milliseconds: 600))
        _ = epochs.use(instanceTTL: 30, renewing: 3, now: at(milliseconds: 601))
        let closed = epochs.closeDone(now: at(milliseconds: 601))
        #expect(open.isEmpty)
        #expect(closed.map(\.cover) == [77] && closed.first?.renewed == [1, 2] && closed.first?.ttl == 30)
        let current = epochs.use(instanceTTL: 30, now: at(milliseconds: 700))
        #expect(current?.cover == 78)
        epochs.start(instanceTTL: 30, cover: 79, grantedTTL: 30, grantSentAt: at(milliseconds: 1_200))
        #expect(epochs.closeDone(now: at(milliseconds: 1_200)).map(\.renewed) == [[3]])
    }

    @Test func aCoverNobodyReplacedIsClosedOnceTooOldToServe() {
        var epochs = MarkerEpochs()
        epochs.start(instanceTTL: 30, cover: 77, grantedTTL: 30, grantSentAt: start)
        _ = epochs.use(instanceTTL: 30, renewing: 1, now: start)
        let early = epochs.closeDone(now: at(milliseconds: 1_999))
        let closed = epochs.closeDone(now: at(milliseconds: 2_000))
        #expect(early.isEmpty && closed.map(\.renewed) == [[1]])
    }
}

@Suite struct KeyCollectorTests {
    @Test func theGraceIsTenSecondsOrOneTTL() {
        #expect(KeyCollector.grace(ttl: 1) == 10_000_000_000)
        #expect(KeyCollector.grace(ttl: 30) == 30_000_000_000)
    }
}
