import EtcdStore
import HTTPWire
import PosixIO
import Testing

@Suite struct EtcdConnectionTests {
    @Test func aRefusedMemberIsSkippedAndTheOneThatAnsweredIsRemembered() throws {
        let good = try ScriptedServer(script: [ScriptedServer.reply(200, #"{"header":{"revision":"9"}}"#)])
        defer { good.join() }
        let ring = EndpointRing([try refusedAddress(), good.address])
        let reply = try EtcdConnection(ring: ring).call("/v3/kv/range", ["key": "eA=="])
        #expect(try EtcdReply.revision(reply) == 9)
        #expect(ring.preferred == 1)
        #expect(good.request.hasPrefix("POST /v3/kv/range HTTP/1.1\r\n"))
        #expect(good.request.hasSuffix(#"{"key":"eA=="}"#))
    }

    @Test func aMemberWithoutLeaderIsSkipped() throws {
        let noLeader = try ScriptedServer(script: [
            ScriptedServer.reply(503, #"{"error":"etcdserver: no leader","message":"etcdserver: no leader","code":14}"#)
        ])
        let good = try ScriptedServer(script: [ScriptedServer.reply(200, #"{"header":{"revision":"4"}}"#)])
        defer {
            noLeader.join()
            good.join()
        }
        let ring = EndpointRing([noLeader.address, good.address])
        let reply = try EtcdConnection(ring: ring).call("/v3/lease/grant", ["TTL": "5"])
        #expect(try EtcdReply.revision(reply) == 4)
        #expect(noLeader.wasContacted && ring.preferred == 1)
    }

    @Test func anAnswerFromEtcdIsNotRetriedElsewhere() throws {
        let notFound = try ScriptedServer(script: [
            ScriptedServer.reply(404, #"{"error":"etcdserver: requested lease not found","message":"etcdserver: requested lease not found","code":5}"#)
        ])
        let other = try ScriptedServer(script: [], waitMilliseconds: 300)
        defer {
            notFound.join()
            other.join()
        }
        let ring = EndpointRing([notFound.address, other.address])
        #expect(throws: EtcdError.rejected(status: 404, message: "etcdserver: requested lease not found")) {
            try EtcdConnection(ring: ring).call("/v3/lease/revoke", ["ID": "1"])
        }
        #expect(!other.wasContacted)
    }

    @Test func whenNoMemberAnswersTheCallFailsAtOnceNamingEach() throws {
        let ring = EndpointRing([try refusedAddress(), try refusedAddress()])
        let started = Posix.monotonicNanoseconds()
        do {
            _ = try EtcdConnection(ring: ring).call("/v3/kv/put", [:])
            Issue.record("expected a failure")
        } catch {
            guard case .unreachable(let text) = error else { throw error }
            #expect(text.contains(ring.endpoints[0].description) && text.contains(ring.endpoints[1].description))
            #expect(text.contains("refused"))
        }
        #expect(Posix.monotonicNanoseconds() - started < 1_000_000_000)
    }
}
