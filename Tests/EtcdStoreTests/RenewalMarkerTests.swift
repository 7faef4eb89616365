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

    @Test func keysNameTheNodeAndTheTTL() {
        let key = RenewalMarker.key(node: "3f2a", ttl: 30)
        #expect(key == "/beacon/v1/renewals/3f2a/30")
        #expect(RenewalMarker.node(key: key) == "3f2a")
        #expect(RenewalMarker.node(key: "/beacon/v1/instances/a") == nil)
        #expect(RenewalMarker.node(key: "/beacon/v1/renewals//30") == nil)
        #expect(SpecCodec.id(key: key) == nil, "never taken for an instance")
    }

    @Test func coverLeasesAreTwoSecondsShorterAndOnlyForTTLsOfFiveSecondsOrMore() {
        #expect(RenewalMarker.coverTTL(forInstanceTTL: 30) == 28)
        #expect(RenewalMarker.coverTTL(forInstanceTTL: 5) == 3)
        #expect(RenewalMarker.coverTTL(forInstanceTTL: 4) == nil)
    }
}

@Suite struct MarkerEpochsTests {
    let start = Instant(nanoseconds: 1_000_000_000_000)
    func at(milliseconds: Int64) -> Instant { start.adding(milliseconds: milliseconds) }

    @Test func aCoverServesUntilReplacedAndAtMostTwoSeconds() {
        var epochs = MarkerEpochs()
        let none = epochs.use(instanceTTL: 30, now: start)
        let wanted = epochs.rotationsDue(now: start)
        #expect(none == nil && wanted == [30], "asked for when there is none")
        epochs.start(instanceTTL: 30, cover: 77, grantSentAt: start)
        let young = epochs.use(instanceTTL: 30, now: at(milliseconds: 400))
        let early = epochs.rotationsDue(now: at(milliseconds: 400))
        #expect(young == 77 && early.isEmpty)
        let old = epochs.use(instanceTTL: 30, now: at(milliseconds: 1_999))
        let due = epochs.rotationsDue(now: at(milliseconds: 1_999))
        #expect(old == 77 && due == [30], "used past its epoch: replace it")
        let tooOld = epochs.use(instanceTTL: 30, now: at(milliseconds: 2_000))
        #expect(tooOld == nil, "not replaced in time: keep-alives go uncovered rather than under-covered")
        let other = epochs.use(instanceTTL: 15, now: start)
        #expect(other == nil, "one cover lease per instance TTL")
        let short = epochs.use(instanceTTL: 3, now: start)
        let wantedNow = epochs.rotationsDue(now: at(milliseconds: 2_000))
        #expect(short == nil && wantedNow == [15, 30], "TTLs under 5 s get no cover lease")
    }

    @Test func anUnusedCoverIsNotReplaced() {
        var epochs = MarkerEpochs()
        epochs.start(instanceTTL: 30, cover: 77, grantSentAt: start)
        let due = epochs.rotationsDue(now: at(milliseconds: 1_500))
        #expect(due.isEmpty, "no traffic, no grants")
    }

    @Test func aReplacedEpochSettlesThenYieldsWhatWasRenewedUnderIt() {
        var epochs = MarkerEpochs()
        epochs.start(instanceTTL: 30, cover: 77, grantSentAt: start)
        epochs.record(cover: 77, renewed: 1)
        epochs.start(instanceTTL: 30, cover: 78, grantSentAt: at(milliseconds: 600))
        epochs.record(cover: 77, renewed: 2)  // a keep-alive sent under 77, confirmed after 78 began
        epochs.record(cover: 99, renewed: 3)  // a cover this node no longer knows
        let unsettled = epochs.closeSettled(now: at(milliseconds: 1_099))
        let settled = epochs.closeSettled(now: at(milliseconds: 1_100))
        #expect(unsettled.isEmpty)
        #expect(settled.map(\.cover) == [77] && settled.first?.renewed == [1, 2] && settled.first?.ttl == 30)
        epochs.record(cover: 77, renewed: 4)
        let current = epochs.use(instanceTTL: 30, now: at(milliseconds: 1_100))
        #expect(current == 78, "the late confirmation is dropped; 78 serves on")
    }

    @Test func aCoverNobodyReplacedIsClosedOnceTooOld() {
        var epochs = MarkerEpochs()
        epochs.start(instanceTTL: 30, cover: 77, grantSentAt: start)
        epochs.record(cover: 77, renewed: 1)
        let early = epochs.closeSettled(now: at(milliseconds: 2_499))
        let closed = epochs.closeSettled(now: at(milliseconds: 2_500))
        #expect(early.isEmpty && closed.map(\.renewed) == [[1]])
    }
}
