import EtcdStore
import HTTPWire
import Testing

/// Request bodies as the gateway expects them, and replies captured from etcd 3.4.23's gateway.
@Suite struct EtcdMessagesTests {
    static let header = #""header":{"cluster_id":"324952591200643719","member_id":"3319814642761637952","revision":"5","raft_term":"2"}"#

    func parse(_ text: String) throws -> JSONValue { try JSONParser.parse(text) }

    // MARK: - Requests

    @Test func putCarriesBase64KeyAndValueAndNoLease() {
        let body = EtcdRequest.put(key: "/beacon/v1/instances/x", value: Array("{\"a\":1}".utf8))
        #expect(body.jsonText == #"{"key":"L2JlYWNvbi92MS9pbnN0YW5jZXMveA==","value":"eyJhIjoxfQ==","prev_kv":true}"#)
    }

    @Test func conditionalDeleteComparesTheModRevision() {
        #expect(
            EtcdRequest.deleteIfUnchanged("/p/x", revision: 42).jsonText
                == #"{"compare":[{"key":"L3AveA==","target":"MOD","result":"EQUAL","mod_revision":"42"}],"success":[{"request_delete_range":{"key":"L3AveA=="}}]}"#
        )
    }

    @Test func txnReplyTellsWhetherTheComparisonHeld() throws {
        // As etcd 3.4's gateway answers: `succeeded` is left out when false.
        let held = try EtcdReply.txn(try parse(#"{"header":{"revision":"9"},"succeeded":true,"responses":[{"response_delete_range":{"header":{"revision":"9"},"deleted":"1"}}]}"#))
        #expect(held == (9, true))
        let failed = try EtcdReply.txn(try parse(#"{"header":{"revision":"8"},"responses":[]}"#))
        #expect(failed == (8, false))
    }

    @Test func rangeEndIsThePrefixWithItsLastByteIncremented() {
        #expect(EtcdRequest.rangeEnd(prefix: "/beacon/v1/instances/") == Array("/beacon/v1/instances0".utf8))
        #expect(EtcdRequest.rangeEnd(prefix: "a\u{7F}") == [UInt8(ascii: "a"), 0x80])
        #expect(EtcdRequest.rangeEnd(prefix: "") == [0])
    }

    @Test func prefixRangeAndCountOnlyProbe() {
        #expect(
            EtcdRequest.range(prefix: "/beacon/v1/instances/").jsonText
                == #"{"key":"L2JlYWNvbi92MS9pbnN0YW5jZXMv","range_end":"L2JlYWNvbi92MS9pbnN0YW5jZXMw"}"#)
        #expect(EtcdRequest.range(prefix: "/a/", countOnly: true)["count_only"] == true)
    }

    @Test func laterPagesPinTheFirstPagesRevision() {
        let first = EtcdRequest.rangePage(from: Array("/p/".utf8), prefix: "/p/", limit: 1000, revision: 0)
        #expect(first.jsonText == #"{"key":"L3Av","range_end":"L3Aw","limit":"1000"}"#)
        let next = EtcdRequest.rangePage(from: Array("/p/b".utf8) + [0], prefix: "/p/", limit: 1000, revision: 42)
        #expect(next["key"]?.stringValue.flatMap(Base64.decode) == Array("/p/b".utf8) + [0])
        #expect(next["revision"] == "42")
    }

    @Test func watchLeaseAndGrantRequests() {
        #expect(
            EtcdRequest.watch(prefix: "/p/", startRevision: 7).jsonText
                == #"{"create_request":{"key":"L3Av","range_end":"L3Aw","start_revision":"7"}}"#)
        #expect(EtcdRequest.grant(ttl: 30).jsonText == #"{"TTL":"30"}"#)
        #expect(EtcdRequest.lease(-5).jsonText == #"{"ID":"-5"}"#)
        #expect(EtcdRequest.deleteKey("/p/x").jsonText == #"{"key":"L3AveA==","prev_kv":true}"#)
    }

    // MARK: - Replies

    @Test func rangeReplyDecodesKeysValuesRevisionsAndLeases() throws {
        let reply = try parse(
            #"{"header":{"cluster_id":"1","member_id":"2","revision":"2","raft_term":"2"},"kvs":[{"key":"L2JlYWNvbi92MS9pbnN0YW5jZXMveA==","create_revision":"2","mod_revision":"2","version":"1","value":"eyJhIjoxfQ==","lease":"2324035698124327431"}],"count":"1"}"#
        )
        let range = try EtcdReply.range(reply)
        #expect(range.revision == 2)
        #expect(!range.more)
        #expect(
            range.kvs == [
                EtcdKeyValue(
                    key: "/beacon/v1/instances/x", value: Array("{\"a\":1}".utf8), modRevision: 2,
                    lease: 2_324_035_698_124_327_431)
            ])
    }

    @Test func emptyRangeHasNoKvsField() throws {
        let range = try EtcdReply.range(try parse("{\(Self.header)}"))
        #expect(range.kvs.isEmpty && range.revision == 5)
    }

    @Test func pagedRangeReportsMore() throws {
        #expect(try EtcdReply.range(try parse("{\(Self.header),\"more\":true,\"count\":\"3\"}")).more)
    }

    @Test func grantReplyGivesIDAndTheGrantedTTL() throws {
        let grant = try EtcdReply.grant(try parse("{\(Self.header),\"ID\":\"2324035698124327447\",\"TTL\":\"2\"}"))
        #expect(grant.id == 2_324_035_698_124_327_447 && grant.ttl == 2)
        #expect(throws: EtcdError.self) { try EtcdReply.grant(try parse("{\(Self.header)}")) }
    }

    @Test func putReplyGivesTheRevisionAndTheKeysCreateRevision() throws {
        #expect(try EtcdReply.put(try parse("{\(Self.header)}")) == (5, 5), "a new key was created by this put")
        let replaced = try EtcdReply.put(
            try parse("{\(Self.header),\"prev_kv\":{\"key\":\"eA==\",\"create_revision\":\"2\",\"mod_revision\":\"3\",\"value\":\"\"}}"))
        #expect(replaced == (5, 2), "an overwrite keeps the key's create revision")
    }

    @Test func deleteReplyTellsWhetherSomethingWasDeleted() throws {
        let deleted = try EtcdReply.delete(
            try parse(
                #"{"header":{"revision":"3"},"deleted":"1","prev_kvs":[{"key":"L2JlYWNvbi92MS9pbnN0YW5jZXMveA==","create_revision":"2","mod_revision":"2","version":"1","value":"eyJhIjoxfQ==","lease":"2324035698124327431"}]}"#
            ))
        #expect(deleted.revision == 3 && deleted.deleted?.lease == 2_324_035_698_124_327_431)
        #expect(deleted.deleted?.key == "/beacon/v1/instances/x" && deleted.deleted?.value == Array("{\"a\":1}".utf8))
        let nothing = try EtcdReply.delete(try parse(#"{"header":{"revision":"3"}}"#))
        #expect(nothing.revision == 3 && nothing.deleted == nil)
    }

    @Test func timeToLiveDistinguishesLiveNearlyEndedAndGone() throws {
        let live = try EtcdReply.timeToLive(try parse("{\(Self.header),\"ID\":\"9\",\"TTL\":\"2\",\"grantedTTL\":\"3\"}"))
        #expect(live == (2, 3))
        // Under a second left: etcd leaves TTL out (zero).
        #expect(try EtcdReply.timeToLive(try parse("{\(Self.header),\"ID\":\"9\",\"grantedTTL\":\"3\"}")) == (0, 3))
        #expect(try EtcdReply.timeToLive(try parse("{\(Self.header),\"ID\":\"9\",\"TTL\":\"-1\"}")) == (-1, 0))
    }

    @Test func numbersAreAcceptedAsStringsOrPlainNumbersButNothingElse() throws {
        #expect(try EtcdReply.revision(try parse(#"{"header":{"revision":12}}"#)) == 12)
        #expect(throws: EtcdError.self) { try EtcdReply.revision(try parse(#"{"header":{"revision":"12x"}}"#)) }
        #expect(throws: EtcdError.self) { try EtcdReply.revision(try parse(#"{"header":{"revision":1.5}}"#)) }
        #expect(throws: EtcdError.self) { try EtcdReply.revision(try parse(#"{"header":{"revision":true}}"#)) }
    }

    // MARK: - Watch stream messages

    @Test func watchCreatedMessage() throws {
        let message = try EtcdReply.watch(try parse("{\"result\":{\(Self.header),\"created\":true}}"))
        #expect(message.created && !message.canceled && message.events.isEmpty)
    }

    @Test func watchEventsPutWithoutTypeAndDeleteWithPrevKV() throws {
        let message = try EtcdReply.watch(
            try parse(
                #"{"result":{"header":{"revision":"3"},"events":[{"kv":{"key":"L2JlYWNvbi92MS9pbnN0YW5jZXMveA==","create_revision":"2","mod_revision":"2","version":"1","value":"eyJhIjoxfQ==","lease":"2324035698124327431"}},{"type":"DELETE","kv":{"key":"L2JlYWNvbi92MS9pbnN0YW5jZXMveA==","mod_revision":"3"},"prev_kv":{"key":"L2JlYWNvbi92MS9pbnN0YW5jZXMveA==","create_revision":"2","mod_revision":"2","version":"1","value":"eyJhIjoxfQ==","lease":"2324035698124327431"}}]}}"#
            ))
        #expect(
            message.events == [
                .put(
                    EtcdKeyValue(
                        key: "/beacon/v1/instances/x", value: Array("{\"a\":1}".utf8), modRevision: 2,
                        createRevision: 2, lease: 2_324_035_698_124_327_431)),
                .delete(key: "/beacon/v1/instances/x", revision: 3),
            ])
    }

    @Test func compactedWatchIsCancelledWithTheCompactRevision() throws {
        let message = try EtcdReply.watch(
            try parse(
                #"{"result":{"header":{"revision":"90"},"canceled":true,"compact_revision":"50","cancel_reason":"mvcc: required revision has been compacted"}}"#
            ))
        #expect(message.canceled && message.compactRevision == 50)
        #expect(message.cancelReason.contains("compacted"))
    }

    @Test func watchErrorsAndBrokenEventsAreErrors() throws {
        #expect(throws: EtcdError.self) {
            try EtcdReply.watch(try parse(#"{"error":{"grpc_code":14,"message":"etcdserver: no leader"}}"#))
        }
        #expect(throws: EtcdError.self) {
            try EtcdReply.watch(try parse(#"{"result":{"events":[{"type":"PUT","kv":{"key":"not base64!"}}]}}"#))
        }
        #expect(throws: EtcdError.self) {
            try EtcdReply.watch(try parse(#"{"result":{"events":[{"type":"MERGE","kv":{"key":"eA=="}}]}}"#))
        }
    }
}
