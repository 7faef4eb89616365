import EtcdStore
import HTTPWire
import Leases
import Testing

@Suite struct SpecCodecTests {
    static let spec = InstanceSpec(
        service: "orders", function: "create", id: "web-1", address: IPAddressValue("10.0.0.7")!, port: 8080, ttl: 15,
        priority: 3, weight: 9, meta: [MetaEntry(key: "zone", value: "b"), MetaEntry(key: "az", value: "1")])

    @Test func specIsStoredAsRegistrationJSON() {
        #expect(
            String(decoding: SpecCodec.encode(Self.spec), as: UTF8.self)
                == #"{"service":"orders","function":"create","id":"web-1","address":"10.0.0.7","port":8080,"ttl":15,"priority":3,"weight":9,"meta":{"zone":"b","az":"1"}}"#
        )
    }

    @Test func specsRoundTripKeepingMetaOrder() throws {
        var v6 = Self.spec
        v6.address = IPAddressValue("2001:db8::1")!
        v6.meta = []
        for spec in [Self.spec, v6] {
            #expect(try SpecCodec.decode(SpecCodec.encode(spec), id: spec.id).get() == spec)
        }
    }

    @Test func decodingAppliesTheRegistrationRules() {
        func decode(_ text: String, id: String = "web-1") -> SpecDecodeError? {
            if case .failure(let error) = SpecCodec.decode(Array(text.utf8), id: id) { return error }
            return nil
        }
        let base = #""service":"orders","function":"create","id":"web-1","address":"10.0.0.7""#
        #expect(decode("{\(base),\"port\":80}") == nil)
        #expect(decode("{\(base),\"port\":80,\"added_later\":[1]}") == nil, "unknown fields are skipped")
        #expect(decode("{\(base),\"port\":0}")?.message.contains("port") == true)
        #expect(decode("{\(base),\"port\":\"80\"}")?.message.contains("port") == true)
        #expect(decode("{\(base),\"port\":80,\"ttl\":0}")?.message.contains("ttl") == true)
        #expect(decode("{\(base),\"port\":80,\"meta\":{\"k\":1}}")?.message.contains("meta") == true)
        #expect(decode("{\(base),\"port\":80}", id: "web-2")?.message.contains("does not match") == true)
        #expect(decode("[1]") != nil)
        #expect(decode("{") != nil)
    }

    @Test func keysMapToIDsAndBack() {
        #expect(SpecCodec.key(id: "web-1") == "/beacon/v1/instances/web-1")
        #expect(SpecCodec.id(key: "/beacon/v1/instances/web-1") == "web-1")
        for key in [
            "/beacon/v1/instances/", "/beacon/v1/instances/Web-1", "/beacon/v1/instances/a/b", "/beacon/v2/instances/a",
            "/beacon/v1/instances/-a", "/other/a",
        ] {
            #expect(SpecCodec.id(key: key) == nil, "\(key)")
        }
    }
}
