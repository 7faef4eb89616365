import PosixIO

/// What a client (the CLI, the sidecar, the etcd store) trusts and presents: servers are verified
/// against `--ca` (or the system's store) and the name or address the client dialled; a client
/// certificate is sent when the server asks. Same policy as the server: TLS 1.2+, AEAD suites,
/// ALPN `http/1.1`.
package final class TLSClientContext: Sendable {
    package let settings: TLSClientSettings
    private let library: LibSSL
    private let context: SSLContextBox

    /// Loads OpenSSL (the first TLS use in the process) and the files.
    /// - Throws: one line naming the flag and file at fault, or saying that libssl is missing.
    package init(settings: TLSClientSettings) throws(TLSError) {
        self.settings = settings
        library = try LibSSL.load()
        let context = try ContextPolicy.makeContext(library: library, isServer: false)
        if let ca = settings.ca {
            try ContextPolicy.trust(ca, in: context, library: library)
        } else if library.SSL_CTX_set_default_verify_paths(context.pointer) != 1 {
            throw TLSError(library.drainErrors(or: "cannot load the system's CA certificates"))
        }
        switch (settings.certificate, settings.key) {
        case (let certificate?, let key?):
            try ContextPolicy.useCertificate(certificate, key: key, in: context, library: library)
        case (let certificate?, nil):
            throw TLSError("\(certificate.flag) needs a key as well")
        case (nil, let key?):
            throw TLSError("\(key.flag) needs a certificate as well")
        case (nil, nil):
            break
        }
        library.SSL_CTX_set_verify(context.pointer, OpenSSLConstants.verifyPeer, nil)
        let protocols = OpenSSLConstants.alpnHTTP11
        // Unlike most of OpenSSL, this one returns 0 on success.
        guard library.SSL_CTX_set_alpn_protos(context.pointer, protocols, UInt32(protocols.count)) == 0 else {
            throw TLSError(library.drainErrors(or: "cannot set ALPN"))
        }
        self.context = context
    }

    /// A client-side connection that verifies the server as `host` (an IP literal or a DNS name).
    package func makeConnection(host: String) throws(TLSError) -> TLSConnection {
        let connection = try TLSConnection(library: library, context: context.pointer, isServer: false)
        try connection.expectServer(named: host, isIPAddress: Self.isIPLiteral(host))
        return connection
    }

    /// Whether `host` is an IPv4 or IPv6 literal (checked against the certificate's IP addresses,
    /// never sent as SNI).
    static func isIPLiteral(_ host: String) -> Bool {
        host.contains(":") || (!host.isEmpty && host.allSatisfy { $0.isNumber || $0 == "." })
    }
}
