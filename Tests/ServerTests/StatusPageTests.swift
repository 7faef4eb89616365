import BeaconRuntime
import Clients
import DNSWire
import HTTPControl
import HTTPWire
import PosixIO
import Testing

/// The status page at `/` and `/ui`, its scripts and stylesheet at `/ui/lib.js`, `/ui/app.js` and `/ui/style.css`:
/// how they are served and that they load nothing from elsewhere.
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

    @Test func scriptAndStylesheetAreServedUnderUI() throws {
        let beacon = try RunningBeacon()
        let script = try get(beacon, "/ui/app.js")
        #expect(script.status == 200)
        #expect(script.contentType == "application/javascript; charset=utf-8")
        #expect(script.body == StatusPage.appJS)
        let library = try get(beacon, "/ui/lib.js")
        #expect(library.status == 200 && library.contentType == "application/javascript; charset=utf-8")
        #expect(library.body == StatusPage.libJS)
        let style = try get(beacon, "/ui/style.css")
        #expect(style.status == 200)
        #expect(style.contentType == "text/css; charset=utf-8")
        #expect(style.body == StatusPage.styleCSS)
        for path in ["/ui/index.html", "/ui/app", "/ui/app.js/x", "/app.js", "/style.css"] {
            #expect(try get(beacon, path).status == 404, "GET \(path)")
        }
        var client = beacon.http()
        #expect(try client.send("POST", "/ui/app.js", body: []).status == 405)
    }

    /// The page, its stylesheet and its script, as the browser gets them.
    static let page = String(decoding: StatusPage.html(domain: "local.", dnsAddress: "127.0.0.1:8053"), as: UTF8.self)
    static let everything = page + StatusPage.styleCSS + StatusPage.appJS

    @Test func pageLoadsNothingFromElsewhere() throws {
        let lowered = Self.everything.lowercased()
        // No absolute or protocol-relative URL anywhere, not even in text (JS comments are "// ").
        let schemes = lowered.matches(of: try Regex(#"\b(https?|wss?|ftp|data|blob|file|javascript):"#)).map {
            String($0.output[0].substring!)
        }
        #expect(schemes.isEmpty, "the page mentions \(schemes)")
        #expect(Self.everything.matches(of: try Regex(#"//[A-Za-z0-9\[]"#)).isEmpty, "a //host reference")
        // Nothing that loads a resource, but for the one stylesheet and the two scripts of this server.
        let page = Self.page.lowercased()
        #expect(page.matches(of: try Regex("<link")).count == 1)
        #expect(page.contains(#"<link rel="stylesheet" href="/ui/style.css">"#))
        #expect(page.matches(of: try Regex("<script")).count == 2)
        #expect(page.contains(#"<script src="/ui/lib.js" defer></script>\#n<script src="/ui/app.js" defer></script>"#))
        let loaders = ["@import", "url(", "<img", "<iframe", "<object", "<embed", "srcset", "<base", "<style"]
        for loader in loaders {
            #expect(!lowered.contains(loader), "the page uses \(loader)")
        }
        // Links and the script's paths are this server's own.
        let attributes = Self.page.matches(of: try Regex(#"(?:href|src|action)="([^"]*)""#)).map {
            String($0.output[1].substring!)
        }
        let own = ["#details", "/metrics", "/v1/services", "/v1/services", "/ui/style.css", "/ui/lib.js", "/ui/app.js"]
        #expect(attributes.sorted() == own.sorted())
        let paths = Set((StatusPage.libJS + StatusPage.appJS).matches(of: try Regex(#"['`](/[a-z0-9/]*)"#)).map {
            String($0.output[1].substring!)
        })
        #expect(paths == ["/v1/services", "/v1/services/", "/metrics"], "paths the script requests: \(paths)")
    }

    @Test func policyAllowsThisServerOnlyAndNothingInline() throws {
        // The browser is told so: the policy allows this origin only, and no inline script or style.
        let policy = #"""
            <meta http-equiv="Content-Security-Policy" content="default-src 'none'; connect-src 'self';
              script-src 'self'; style-src 'self'; base-uri 'none'; form-action 'none'">
            """#
        #expect(Self.page.contains(policy))
        #expect(!Self.page.contains("unsafe"))
        // The policy must come before what it governs.
        let meta = try #require(Self.page.firstRange(of: "Content-Security-Policy"))
        let link = try #require(Self.page.firstRange(of: "<link"))
        #expect(meta.lowerBound < link.lowerBound)
        // What 'self' alone refuses: inline event handlers, style attributes, script that makes either.
        let inline = try Regex(#"\s(on[a-z]+|style)="#)
        #expect(Self.page.matches(of: inline).isEmpty, "an inline handler or style attribute in index.html")
        let refused = [
            "setAttribute('style'", #"setAttribute("style""#, "cssText", "innerHTML", "eval(", "new Function",
        ]
        for refused in refused {
            #expect(!StatusPage.appJS.contains(refused), "app.js uses \(refused)")
            #expect(!StatusPage.libJS.contains(refused), "lib.js uses \(refused)")
        }
    }

    @Test func valuesAreFilledInOnce() {
        let page = String(
            decoding: StatusPage.html(domain: "{{dns}}", dnsAddress: "1.2.3.4:53", version: "v{{x}}"), as: UTF8.self)
        #expect(page.contains(#"data-domain="{{dns}}" data-dns="1.2.3.4:53""#))
        #expect(page.contains(#"<p class="muted" id="version">v{{x}}</p>"#))
        #expect(!Self.page.contains("{{"), "a placeholder left in the page")
        #expect(StatusPage.fill("{{a}}{{b}} {{ {{a}}}}", ["a": "1"]) == "1{{b}} {{ 1}}")
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
        let script = try get(beacon, "/ui/app.js")
        let style = try get(beacon, "/ui/style.css")
        #expect(page.status == 200 && script.status == 200 && style.status == 200)
        for served in [page, script, style] {
            #expect(!served.body.contains("page-secret-token-1"))
        }
        // The script only reads: no other method, no credentials.
        for write in ["method:", "POST", "DELETE", "Authorization", "credentials"] {
            #expect(!page.body.contains(write) && !script.body.contains(write), "the page's script uses \(write)")
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
