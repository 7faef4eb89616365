import Primitives
import EtcdStore
import Testing
import TestSupport

@Suite struct Base64Tests {
    /// RFC 4648 §10 test vectors.
    static let rfc4648Vectors: [(String, String)] = [
        ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ]

    @Test(arguments: rfc4648Vectors)
    func rfc4648VectorsEncodeAndDecode(plain: String, encoded: String) {
        #expect(Base64.encode(plain) == encoded)
        #expect(Base64.decode(encoded) == Array(plain.utf8))
    }

    @Test func keysMatchWhatEtcdSends() {
        // Captured from etcd 3.4's gateway for the key /beacon/v1/instances/x and the value {"a":1}.
        #expect(Base64.encode("/beacon/v1/instances/x") == "L2JlYWNvbi92MS9pbnN0YW5jZXMveA==")
        #expect(Base64.decodeString("eyJhIjoxfQ==") == "{\"a\":1}")
    }

    @Test func everyByteValueAndEveryAlphabetCharacterRoundTrips() {
        let all = (0...255).map(UInt8.init)
        let encoded = Base64.encode(all)
        #expect(encoded.contains("+") && encoded.contains("/"))
        #expect(Base64.decode(encoded) == all)
    }

    @Test func randomBuffersRoundTrip() {
        var random = SeededGenerator(seed: 0xBA5E_64)
        for _ in 0..<2_000 {
            let bytes = random.bytes(random.next(below: 70))
            let encoded = Base64.encode(bytes)
            #expect(encoded.utf8.count == (bytes.count + 2) / 3 * 4)
            #expect(Base64.decode(encoded) == bytes, "\(bytes)")
        }
    }

    @Test(arguments: [
        "Zg=",  // length not a multiple of 4
        "Zg", "Zm9vY", "Z===",  // a lone sextet cannot make a byte
        "Zh==", "Zm9=",  // non-zero bits under the padding (non-canonical)
        "Zg==Zg==",  // padding before the end
        "Zm9v!A==", "Zm 9", "Zm9v\n", "Zm-_",  // outside the standard alphabet (URL-safe is not accepted)
        "====", "=Zm9",
    ])
    func malformedInputIsRejected(text: String) {
        #expect(Base64.decode(text) == nil)
    }

    @Test func decodeStringRejectsInvalidUTF8() {
        #expect(Base64.decodeString(Base64.encode([0xFF, 0xFE])) == nil)
        #expect(Base64.decodeString(Base64.encode("grüße")) == "grüße")
    }
}
