import Primitives
import PosixIO

/// The side channel's TLS configuration: makes one `TLSConnection` per accepted socket, and can
/// re-read its certificate and key while the server runs (for rotation).
///
/// Policy: TLS 1.2 and 1.3, no renegotiation, AEAD suites with forward secrecy, ALPN `http/1.1`
/// (a client offering only other protocols is refused with `no_application_protocol`, RFC 7301
/// §3.2). With `clientCA`, a client without a certificate that verifies against it fails the
/// handshake.
package final class TLSServerContext: Sendable {
    package let settings: TLSServerSettings
    private let library: LibSSL
    /// Swapped whole by `reload`; each new connection starts from the one current then.
    private let current: Locked<SSLContextBox>

    /// Loads OpenSSL (the first TLS use in the process), the certificate and key, and the client CA.
    /// - Throws: one line naming the flag and file at fault, or saying that libssl is missing.
    package init(settings: TLSServerSettings) throws(TLSError) {
        self.settings = settings
        library = try LibSSL.load()
        current = Locked(try Self.build(settings, library: library))
    }

    /// Whether clients must present a verified certificate.
    package var requiresClientCertificate: Bool { settings.clientCA != nil }

    /// "OpenSSL 3.0.19 27 Jan 2026".
    package var libraryVersion: String { library.versionText }

    /// Re-reads the certificate, key and client CA from the same files and swaps them in at once for
    /// new connections; connections already open keep what they started with. On any failure the
    /// running configuration stays as it was and the error says why (for the log).
    /// Call from the SIGHUP handler (any thread).
    package func reload() throws(TLSError) {
        let fresh = try Self.build(settings, library: library)
        current.withLock { $0 = fresh }
    }

    /// A server-side connection for one accepted socket.
    package func makeConnection() throws(TLSError) -> TLSConnection {
        try current.withLock { (box: inout SSLContextBox) throws(TLSError) -> TLSConnection in
            try TLSConnection(library: library, context: box.pointer, isServer: true)
        }
    }

    private static func build(_ settings: TLSServerSettings, library: LibSSL) throws(TLSError) -> SSLContextBox {
        let context = try ContextPolicy.makeContext(library: library, isServer: true)
        try ContextPolicy.useCertificate(settings.certificate, key: settings.key, in: context, library: library)
        library.SSL_CTX_set_alpn_select_cb(context.pointer, selectHTTP11, nil)
        if let ca = settings.clientCA {
            try ContextPolicy.trust(ca, in: context, library: library)
            // The CA names go into the CertificateRequest, so a client holding several certificates
            // knows which one to send.
            if let names = library.SSL_load_client_CA_file(ca.path) {
                library.SSL_CTX_set_client_CA_list(context.pointer, names)
            }
            library.SSL_CTX_set_verify(
                context.pointer, OpenSSLConstants.verifyPeer | OpenSSLConstants.verifyFailIfNoPeerCertificate, nil)
        }
        // Needed by OpenSSL for session resumption once peers are verified; the value only has to be
        // the same for every connection of this server.
        let sessionContext = Array("beacon-http".utf8)
        guard library.SSL_CTX_set_session_id_context(context.pointer, sessionContext, UInt32(sessionContext.count)) == 1
        else { throw TLSError(library.drainErrors(or: "cannot set the session id context")) }
        return context
    }
}

/// The ALPN choice: `http/1.1` when the client offers it. No captures: it is a C function pointer.
private let selectHTTP11: LibSSL.ALPNSelect = { _, selected, selectedLength, offered, offeredLength, _ in
    guard let selected, let selectedLength, let offered else { return OpenSSLConstants.tlsExtNoAck }
    let wanted = OpenSSLConstants.alpnHTTP11
    var index = 0
    let end = Int(offeredLength)
    while index < end {
        let length = Int(offered[index])
        let start = index + 1
        guard start + length <= end else { break }
        if length == wanted.count - 1, (0..<length).allSatisfy({ offered[start + $0] == wanted[1 + $0] }) {
            selected.pointee = offered + start
            selectedLength.pointee = UInt8(length)
            return OpenSSLConstants.tlsExtOK
        }
        index = start + length
    }
    // The client speaks none of what this server does (RFC 7301 §3.2: no_application_protocol).
    return OpenSSLConstants.tlsExtAlertFatal
}
