/// The HTML status page served at `/` and `/ui`, with its stylesheet at `/ui/style.css` and its
/// scripts at `/ui/lib.js` (building blocks that know no element of the page) and `/ui/app.js`.
///
/// The four are real files, `StatusPage/index.html`, `style.css`, `lib.js` and `app.js`, edited as such.
/// They are not SwiftPM resources (Package.swift excludes the folder; nothing reads files at run
/// time): `StatusPage+Files.generated.swift` embeds them as string constants, and a test fails
/// while it is stale (regenerate with `BEACON_REGENERATE=1 swift test --filter StatusPageFiles`).
///
/// The page loads nothing from anywhere else. Its Content-Security-Policy allows this server only
/// (`'self'`) for the script, the stylesheet and the requests the script makes, and no inline
/// script or style at all. The script reads the public API (`/v1/services` and
/// `/v1/services/{service}/{function}` as blocking queries, `/metrics` every few seconds), so it
/// works unchanged with `--token-file` and never sees a token.
///
/// The server fills in three values when it builds the page, once per server: the registration
/// domain and the bound DNS address, for the `dig` line the page offers to copy, and its version,
/// shown under the title. They stand in `index.html` as `{{domain}}`, `{{dns}}` and `{{version}}`.
package enum StatusPage {
    /// The page for a server with registration domain `domain` and DNS listener `dnsAddress`
    /// (`127.0.0.1:8053`, `[::1]:8053`; empty when unknown). `version` (`beacon 0.4.0 (commit ...)`)
    /// shows under the title. All three are HTML-escaped.
    package static func html(domain: String, dnsAddress: String, version: String = "") -> [UInt8] {
        let values = ["domain": escape(domain), "dns": escape(dnsAddress), "version": escape(version)]
        return Array(fill(indexHTML, values).utf8)
    }

    /// A file the page loads from this server: `/ui/{name}`.
    package struct Asset: Sendable {
        package let contentType: String
        package let body: [UInt8]
    }

    /// The assets by their name under `/ui/`: `lib.js`, `app.js` and `style.css`.
    package static let assets: [String: Asset] = [
        "lib.js": Asset(contentType: "application/javascript; charset=utf-8", body: Array(libJS.utf8)),
        "app.js": Asset(contentType: "application/javascript; charset=utf-8", body: Array(appJS.utf8)),
        "style.css": Asset(contentType: "text/css; charset=utf-8", body: Array(styleCSS.utf8)),
    ]

    /// `template` with each `{{name}}` replaced by `values[name]`, in one pass: a value is never
    /// searched for placeholders itself. An unknown name is left as it stands.
    package static func fill(_ template: String, _ values: [String: String]) -> String {
        var result = ""
        result.reserveCapacity(template.utf8.count + values.values.reduce(0) { $0 + $1.utf8.count })
        var rest = template[...]
        while let open = rest.firstRange(of: "{{") {
            result += rest[..<open.lowerBound]
            let afterOpen = rest[open.upperBound...]
            guard let close = afterOpen.firstRange(of: "}}"),
                let value = values[String(afterOpen[..<close.lowerBound])]
            else {
                result += "{{"
                rest = afterOpen
                continue
            }
            result += value
            rest = afterOpen[close.upperBound...]
        }
        result += rest
        return result
    }

    /// Escapes text for an HTML attribute value or text node.
    package static func escape(_ text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }
}
