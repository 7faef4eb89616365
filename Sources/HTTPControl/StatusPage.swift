/// The self-contained HTML status page served at `/` and `/ui`.
///
/// One document with its CSS (`StatusPage+Style.swift`) and JavaScript (`StatusPage+Script.swift`)
/// inline: it loads nothing from anywhere, and its Content-Security-Policy lets it talk only to the
/// server that served it. The script reads the public API (`/v1/services` and
/// `/v1/services/{service}/{function}` as blocking queries, `/metrics` every few seconds), so it
/// works unchanged with `--token-file` and never sees a token.
///
/// The server fills in two values when it builds the page, once per server: the registration
/// domain and the bound DNS address, for the `dig` line the page offers to copy.
package enum StatusPage {
    /// The page for a server with registration domain `domain` and DNS listener `dnsAddress`
    /// (`127.0.0.1:8053`, `[::1]:8053`; empty when unknown). Both are HTML-escaped.
    /// `version` (`beacon 0.4.0 (commit ...)`) shows under the title.
    package static func html(domain: String, dnsAddress: String, version: String = "") -> [UInt8] {
        let versioned = body.replacingFirst(
            #"<p class="server muted" id="server"></p>"#,
            with: #"<p class="server muted" id="server"></p>"# + "\n  <p class=\"muted\" id=\"version\">\(escape(version))</p>")
        return Array((documentStart(domain: escape(domain), dnsAddress: escape(dnsAddress)) + style + versioned + script).utf8)
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

    // MARK: - Markup

    private static func documentStart(domain: String, dnsAddress: String) -> String {
        #"""
        <!doctype html>
        <html lang="en" data-domain="\#(domain)" data-dns="\#(dnsAddress)">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta http-equiv="Content-Security-Policy" content="default-src 'none'; connect-src 'self';
          script-src 'unsafe-inline'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'">
        <meta name="color-scheme" content="light dark">
        <title>Beacon status</title>

        """#
    }

    private static let body = #"""
        </head>
        <body>
        <a class="skip" href="#details">Skip to instances</a>
        <header class="top">
          <h1>Beacon</h1>
          <p class="server muted" id="server"></p>
          <p class="link" id="link" role="status">
            <span class="dot" aria-hidden="true"></span> <span id="link-text">Connecting…</span>
          </p>
        </header>
        <section class="metrics" aria-labelledby="metrics-heading">
          <h2 id="metrics-heading" class="sr-only">Server figures</h2>
          <dl>
            <div><dt>DNS queries/s</dt><dd id="m-qps">–</dd></div>
            <div><dt>Instances</dt><dd id="m-instances">–</dd></div>
            <div><dt>Heartbeats/s</dt><dd id="m-heartbeats">–</dd></div>
            <div><dt>Registrations</dt><dd id="m-registrations">–</dd></div>
            <div><dt>Expirations</dt><dd id="m-expirations">–</dd></div>
          </dl>
        </section>
        <div class="banner" id="offline" hidden>
          <p role="alert"><strong>The Beacon server is unreachable.</strong> <span id="offline-reason"></span></p>
          <p><span id="offline-retry"></span> <button type="button" id="retry">Retry now</button></p>
        </div>
        <main id="main">
          <section class="panel catalog" aria-labelledby="catalog-heading">
            <div class="panel-head">
              <h2 id="catalog-heading">Services</h2>
              <p class="muted" id="totals"></p>
            </div>
            <label class="filter"><span>Filter</span>
              <input id="filter" type="search" placeholder="service or function" autocomplete="off" spellcheck="false"
                aria-describedby="matches" aria-controls="functions">
            </label>
            <p class="muted" id="matches" aria-live="polite"></p>
            <div class="scroll" id="functions-scroll">
              <table id="functions" class="rows">
                <colgroup><col class="c-service"><col class="c-function"><col class="c-count"></colgroup>
                <thead>
                  <tr aria-rowindex="1">
                    <th scope="col">Service</th><th scope="col">Function</th><th scope="col" class="num">Instances</th>
                  </tr>
                </thead>
                <tbody id="functions-body"></tbody>
              </table>
              <p class="empty" id="functions-empty" hidden></p>
            </div>
          </section>
          <section class="panel details" id="details" aria-labelledby="details-heading" tabindex="-1">
            <div class="panel-head">
              <h2 id="details-heading">Instances</h2>
              <p class="muted" id="details-summary" aria-live="polite"></p>
            </div>
            <p class="empty" id="details-hint">Choose a function to see its instances and the DNS names to query.</p>
            <div id="details-body" hidden>
              <div class="query">
                <code id="dig"></code>
                <button type="button" id="copy" aria-describedby="dig">Copy</button>
                <span id="copy-status" class="muted" role="status"></span>
              </div>
              <ul class="names" id="names" aria-label="DNS names"></ul>
              <p class="error" id="details-error" role="alert" hidden></p>
              <div class="scroll" id="instances-scroll">
                <table id="instances" class="rows">
                  <caption class="sr-only" id="instances-caption">Live instances</caption>
                  <colgroup>
                    <col class="c-id"><col class="c-address"><col class="c-num"><col class="c-num"><col class="c-num">
                    <col class="c-meta"><col class="c-lease">
                  </colgroup>
                  <thead>
                    <tr aria-rowindex="1">
                      <th scope="col">ID</th><th scope="col">Address</th><th scope="col" class="num">Port</th>
                      <th scope="col" class="num">Priority</th><th scope="col" class="num">Weight</th>
                      <th scope="col">Meta</th><th scope="col" class="num">Expires in</th>
                    </tr>
                  </thead>
                  <tbody id="instances-body"></tbody>
                </table>
                <p class="empty" id="instances-empty" hidden>
                  No live instance. This list updates as soon as one registers.
                </p>
              </div>
            </div>
          </section>
        </main>
        <footer class="muted">
          Live from <a href="/v1/services">/v1/services</a> and <a href="/metrics">/metrics</a>
          (blocking queries; figures every 5 s).
        </footer>
        <noscript>
          <p class="banner">This page needs JavaScript. The same data is at <a href="/v1/services">/v1/services</a>.</p>
        </noscript>

        """#
}

extension String {
    /// `self` with the first occurrence of `target` replaced (no Foundation here).
    fileprivate func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let range = firstRange(of: target) else { return self }
        return String(self[..<range.lowerBound]) + replacement + String(self[range.upperBound...])
    }
}
