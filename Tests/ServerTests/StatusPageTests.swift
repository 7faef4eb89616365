import BeaconRuntime
import Clients
import DNSWire
import HTTPControl
import HTTPWire
import PosixIO
import Testing

/// The status page at `/` and `/ui`: how it is served and that it is self-contained.
///
/// What it does in a browser is checked by `Tests/Browser/status-page.sh` (headless Chromium).
@Suite("Status page")
struct StatusPageTests {
    /// `GET path` on a fresh connection: status, content type and body as text.
    func get(_ beacon: RunningBeacon, _ path: String, headers: [(String, String)] = []) throws
        -> (status: Int, contentType: String?, body: String)
    {
        var client = beacon.http()
        let response = try client.send("GET", path, headers: headers)
        return (response.status, response.header("content-type"), String(decoding: response.body, as: UTF8.self))
    }

    @Test func pageIsServedAtRootAndUIAsHTMLWithTheServersDNSAddressAndDomain() throws {
        let beacon = try RunningBeacon { $0.domain = try! DomainName("internal.") }
        let root = try get(beacon, "/")
        let ui = try get(beacon, "/ui")
        for page in [root, ui] {
            #expect(page.status == 200)
            #expect(page.contentType == "text/html; charset=utf-8")
            #expect(page.body.hasPrefix("<!doctype html>\n<html lang=\"en\""))
            #expect(page.body.hasSuffix("</html>\n"))
        }
        #expect(root.body == ui.body)
        #expect(root.body.contains(#"data-domain="internal.""#))
        #expect(root.body.contains(#"data-dns="\#(beacon.server.dnsAddress)""#))
        #expect(beacon.server.dnsAddress.description.hasPrefix("127.0.0.1:"))
        #expect(try get(beacon, "/ui/more").status == 404)
        var client = beacon.http()
        #expect(try client.send("POST", "/ui", body: []).status == 405)
    }

    @Test func pageLoadsNothingFromElsewhere() throws {
        let page = String(decoding: StatusPage.html(domain: "local.", dnsAddress: "127.0.0.1:8053"), as: UTF8.self)
        let lowered = page.lowercased()
        // No absolute or protocol-relative URL anywhere, not even in text (JS comments are "// ").
        let schemes = lowered.matches(of: try Regex(#"\b(https?|wss?|ftp|data|blob|file|javascript):"#)).map {
            String($0.output[0].substring!)
        }
        #expect(schemes.isEmpty, "the page mentions \(schemes)")
        #expect(page.matches(of: try Regex(#"//[A-Za-z0-9\[]"#)).isEmpty, "a //host reference")
        // Nothing that loads a resource.
        let loaders = [
            "<script src", "<link", "@import", "url(", "<img", "<iframe", "<object", "<embed", "srcset", "<base",
        ]
        for loader in loaders {
            #expect(!lowered.contains(loader), "the page uses \(loader)")
        }
        #expect(lowered.matches(of: try Regex("<script")).count == 1)
        #expect(lowered.matches(of: try Regex("<style")).count == 1)
        // Links and the script's paths are this server's own API.
        let attributes = page.matches(of: try Regex(#"(?:href|src|action)="([^"]*)""#)).map {
            String($0.output[1].substring!)
        }
        #expect(attributes.sorted() == ["#details", "/metrics", "/v1/services", "/v1/services"].sorted())
        let paths = Set(page.matches(of: try Regex(#"['`](/[a-z0-9/]*)"#)).map { String($0.output[1].substring!) })
        #expect(paths == ["/v1/services", "/v1/services/", "/metrics"], "paths the script requests: \(paths)")
        // And the browser is told so: the policy allows this origin only.
        let policy = #"<meta http-equiv="Content-Security-Policy" content="default-src 'none'; connect-src 'self';"#
        #expect(page.contains(policy))
    }

    @Test func domainAndDNSAddressAreHTMLEscaped() {
        let page = String(decoding: StatusPage.html(domain: #"a"><b>&'"#, dnsAddress: "<i>"), as: UTF8.self)
        #expect(page.contains(#"data-domain="a&quot;&gt;&lt;b&gt;&amp;&#39;" data-dns="&lt;i&gt;""#))
        #expect(!page.contains("<b>") && !page.contains("<i>"))
    }

    @Test func pageAndTheReadsItMakesNeedNoTokenAndItCarriesNone() throws {
        let path = "/tmp/beacon-page-tokens-\(Posix.processID)"
        try Files.writeAtomically(path, Array("page-secret-token-1\n".utf8))
        let beacon = try RunningBeacon { $0.tokenFile = path }
        let page = try get(beacon, "/ui")
        #expect(page.status == 200)
        #expect(!page.body.contains("page-secret-token-1"))
        // The script only reads: no other method, no credentials.
        for write in ["method:", "POST", "DELETE", "Authorization", "credentials"] {
            #expect(!page.body.contains(write), "the page's script uses \(write)")
        }
        try beacon.register(["service": "orders", "function": "create", "address": "10.0.0.1", "port": 80],
            token: "page-secret-token-1")
        let reads = [
            "/v1/services", "/v1/services?index=0&wait=1s", "/v1/services/orders/create?index=0&wait=1s", "/metrics",
        ]
        for read in reads {
            #expect(try get(beacon, read).status == 200, "GET \(read) without a token")
        }
    }
}

extension RunningBeacon {
    /// Registers with a bearer token.
    fileprivate func register(_ body: JSONValue, token: String) throws {
        var client = http()
        let (status, reply) = try client.json(
            "POST", "/v1/register", headers: [("Authorization", "Bearer \(token)")], body: body)
        #expect(status == 200, "register answered \(status): \(reply.jsonText)")
    }
}
