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

    @Test func aCoverLeaseServesItsEpochOnly() {
        var epochs = MarkerEpochs()
        #expect(epochs.current(instanceTTL: 30, now: start) == nil)
        let replaced = epochs.start(instanceTTL: 30, cover: 77, grantSentAt: start)
        #expect(replaced == nil)
        #expect(epochs.current(instanceTTL: 30, now: at(milliseconds: 499)) == 77)
        #expect(epochs.current(instanceTTL: 30, now: at(milliseconds: 500)) == nil, "too old: it would under-cover")
        #expect(epochs.current(instanceTTL: 15, now: start) == nil, "one cover lease per instance TTL")
    }

    @Test func endedEpochsYieldTheLeasesRenewedUnderTheirCover() {
        var epochs = MarkerEpochs()
        _ = epochs.start(instanceTTL: 30, cover: 77, grantSentAt: start)
        _ = epochs.start(instanceTTL: 15, cover: 78, grantSentAt: at(milliseconds: 100))
        epochs.record(instanceTTL: 30, cover: 77, renewed: 1)
        epochs.record(instanceTTL: 30, cover: 77, renewed: 2)
        epochs.record(instanceTTL: 30, cover: 99, renewed: 3)  // sent under a cover that is not this epoch's
        #expect(epochs.nextClose == at(milliseconds: 500), "the epoch with nothing renewed needs no marker")
        let early = epochs.closeEnded(now: at(milliseconds: 499))
        #expect(early.isEmpty)
        let ended = epochs.closeEnded(now: at(milliseconds: 650))
        #expect(ended.count == 1 && ended[0].ttl == 30 && ended[0].epoch.cover == 77 && ended[0].epoch.renewed == [1, 2])
        #expect(epochs.current(instanceTTL: 15, now: at(milliseconds: 650)) == nil, "ended too, without a marker")
        epochs.record(instanceTTL: 30, cover: 77, renewed: 4)
        let late = epochs.closeEnded(now: at(milliseconds: 700))
        #expect(late.isEmpty, "a late confirmation of an ended epoch is dropped")
    }

    @Test func registrationsAskForACoverLeaseWhenNoneRuns() {
        var epochs = MarkerEpochs()
        let covered = epochs.want(instanceTTL: 30)
        let uncovered = epochs.want(instanceTTL: 3)
        #expect(covered && !uncovered, "TTLs under 5 s get no cover lease")
        let wanted = epochs.takeWanted(now: start)
        let again = epochs.takeWanted(now: start)
        #expect(wanted == [30] && again.isEmpty)
        epochs.want(instanceTTL: 30)
        _ = epochs.start(instanceTTL: 30, cover: 5, grantSentAt: start)
        let granted = epochs.takeWanted(now: start)
        #expect(granted.isEmpty, "granted meanwhile")
    }

    @Test func startingAnEpochHandsBackTheOneItReplaces() {
        var epochs = MarkerEpochs()
        _ = epochs.start(instanceTTL: 30, cover: 1, grantSentAt: start)
        epochs.record(instanceTTL: 30, cover: 1, renewed: 10)
        let replaced = epochs.start(instanceTTL: 30, cover: 2, grantSentAt: at(milliseconds: 600))
        #expect(replaced?.cover == 1 && replaced?.renewed == [10], "its marker is still owed")
    }
}
