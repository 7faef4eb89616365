import HTTPControl
import Testing

/// `cert:NAME [services]` lines of the token file: what a verified client certificate may write.
@Suite("Token file: certificate names")
struct CertificateGrantTests {
    @Test func certificateLinesAreNoTokensAndMayBeShort() throws {
        let table = try TokenTable(parsing: "cert:ops\ncert:orders-client orders\nlong-enough-token\n", fileName: "tokens")
        #expect(table.entries.map { String(decoding: $0.token, as: UTF8.self) } == ["long-enough-token"])
        #expect(table.entry(for: Array("cert:ops".utf8)) == nil, "a cert: line never matches a bearer token")
        #expect(table.entry(for: Array("ops".utf8)) == nil)
    }

    @Test func aGrantIsTheUnionOfTheLinesNamingTheCertificate() throws {
        let table = try TokenTable(
            parsing: "cert:orders-client orders\ncert:spiffe://beacon.test/orders audit,orders\n", fileName: "tokens")
        #expect(table.certificateGrant(for: ["orders-client"])?.services == ["orders"])
        #expect(table.certificateGrant(for: ["orders-client", "spiffe://beacon.test/orders"])?.services == ["orders", "audit"])
        #expect(table.certificateGrant(for: ["payments-client"]) == nil)
        #expect(table.certificateGrant(for: []) == nil)
        let unscoped = try TokenTable(parsing: "cert:admin\ncert:admin orders\n", fileName: "tokens")
        #expect(unscoped.certificateGrant(for: ["admin"]) != nil)
        #expect(unscoped.certificateGrant(for: ["admin"])?.services == nil, "a line without services grants every service")
    }

    @Test func anEmptyCertificateNameIsAnErrorNamingTheLine() {
        #expect(throws: TokenFileError.self) { try TokenTable(parsing: "good-token-1\ncert: orders\n", fileName: "tokens") }
        do {
            _ = try TokenTable(parsing: "good-token-1\ncert:\n", fileName: "tokens")
        } catch {
            #expect(error.message == "tokens:2: cert: needs the certificate's CN or subjectAltName")
        }
    }
}
