import Primitives
import EtcdStore
import HTTPWire
import Leases
import Testing

@Suite struct SpecCodecTests {
    static let spec = InstanceSpec(
        service: "orders", function: "create", id: "web-1", address: IPAddress("10.0.0.7")!, port: 8080, ttl: 15,
        priority: 3, weight: 9, meta: [MetaEntry(key: "zone", value: "b"), MetaEntry(key: "az", value: "1")])

    @Test func specIsStoredAsRegistrationJSON() {
        #expect(
            String(decoding: SpecCodec.encode(Self.spec), as: UTF8.self)
                == #"{"service":"orders","function":"create","id":"web-1","address":"10.0.0.7","port":8080,"ttl":15,"priority":3,"weight":9,"meta":{"zone":"b","az":"1"}}"#
        )
    }

    @Test func specsRoundTripKeepingMetaOrder() throws {
        var v6 = Self.spec
        v6.address = IPAddress("2001:db8::1")!
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

    @Test func aValueMayNameItsCoverLeaseWhichOlderReadersIgnore() throws {
        let bytes = SpecCodec.encode(Self.spec, cover: 694_886_423_455_234)
        #expect(String(decoding: bytes, as: UTF8.self).hasSuffix(#","cover":"694886423455234"}"#))
        let decoded = try SpecCodec.decodeWithCover(bytes, id: "web-1").get()
        #expect(decoded.spec == Self.spec && decoded.cover == 694_886_423_455_234)
        #expect(try SpecCodec.decode(bytes, id: "web-1").get() == Self.spec)
        #expect(try SpecCodec.decodeWithCover(SpecCodec.encode(Self.spec), id: "web-1").get().cover == nil)
        let junk = Array(#"{"service":"orders","function":"create","id":"web-1","address":"10.0.0.7","port":8080,"cover":"x"}"#.utf8)
        #expect(try SpecCodec.decodeWithCover(junk, id: "web-1").get().cover == nil, "not an id: no cover")
    }
}
