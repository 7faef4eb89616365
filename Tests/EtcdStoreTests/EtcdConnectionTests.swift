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

    @Test func aBatchedCallSendsEveryMessageAndReturnsEveryReplyLine() throws {
        func chunk(_ text: String) -> String { String(text.utf8.count, radix: 16) + "\r\n" + text + "\r\n" }
        let server = try ScriptedServer(script: [
            "HTTP/1.1 100 Continue\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                + chunk(#"{"result":{"ID":"1","TTL":"30"}}"# + "\n" + #"{"result":"#),
            chunk(#"{"ID":"2"}}"# + "\n") + "0\r\n\r\n",
        ])
        defer { server.join() }
        let lines = try EtcdConnection(ring: EndpointRing([server.address]))
            .callLines("/v3/lease/keepalive", EtcdRequest.keepAlives([1, 2]))
        #expect(try EtcdReply.keepAlives(lines).ttls == [1: 30, 2: 0])
        #expect(server.request.hasPrefix("POST /v3/lease/keepalive HTTP/1.1\r\n"))
        // Without it, Go's HTTP/1.1 server drops the unread rest of the body once the reply starts.
        #expect(server.request.contains("\r\nExpect: 100-continue\r\n"))
        #expect(server.request.hasSuffix("{\"ID\":\"1\"}\n{\"ID\":\"2\"}\n"))
    }

    @Test func aPreferredMemberThatFailsIsPassedOverUntilItsOwnerChoosesAgain() throws {
        let good = try ScriptedServer(script: [ScriptedServer.reply(200, #"{"header":{"revision":"3"}}"#)])
        defer { good.join() }
        let ring = EndpointRing([try refusedAddress(), good.address])
        let connection = EtcdConnection(ring: ring)
        connection.preferredMember = 0
        _ = try connection.call("/v3/kv/range", ["key": "eA=="])
        #expect(connection.preferredMember == 1, "the next call starts where this one succeeded")
        #expect(ring.preferred == 0, "the ring shared with the other connections is left alone")
    }
}
