/// The self-contained HTML status page served at `/` and `/ui`.
enum StatusPage {
    static let html: [UInt8] = Array(
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>Beacon</title></head>
        <body><h1>Beacon</h1><p>Registrations: <a href="/v1/services">/v1/services</a></p></body></html>
        """.utf8)
}
