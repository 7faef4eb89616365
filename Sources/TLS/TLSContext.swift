import Primitives

/// Owns one `SSL_CTX`. Connections made from it take their own reference (OpenSSL counts them), so
/// dropping this after a reload frees the old context only once its last connection is gone.
final class SSLContextBox: @unchecked Sendable {
    // Unchecked: OpenSSL allows SSL_new on one SSL_CTX from several threads once it is configured,
    // and nothing configures it after `init`.
    let pointer: OpaquePointer
    private let library: LibSSL

    init(_ pointer: OpaquePointer, library: LibSSL) {
        self.pointer = pointer
        self.library = library
    }

    deinit { library.SSL_CTX_free(pointer) }
}

/// The settings every Beacon context shares: TLS 1.2 and 1.3 only, no renegotiation, no
/// compression, and AEAD suites with forward secrecy only.
enum ContextPolicy {
    static func makeContext(library: LibSSL, isServer: Bool) throws(TLSError) -> SSLContextBox {
        let method = isServer ? library.TLS_server_method() : library.TLS_client_method()
        guard let context = library.SSL_CTX_new(method) else {
            throw TLSError(library.drainErrors(or: "SSL_CTX_new failed"))
        }
        let box = SSLContextBox(context, library: library)
        guard
            library.SSL_CTX_ctrl(
                context, OpenSSLConstants.ctrlSetMinProtoVersion, OpenSSLConstants.tls1_2Version, nil) == 1,
            library.SSL_CTX_set_cipher_list(context, OpenSSLConstants.tls12Ciphers) == 1,
            library.SSL_CTX_set_ciphersuites(context, OpenSSLConstants.tls13Ciphersuites) == 1
        else {
            throw TLSError(library.drainErrors(or: "cannot restrict the TLS versions and ciphers"))
        }
        var options = OpenSSLConstants.optionNoRenegotiation | OpenSSLConstants.optionNoCompression
        if isServer { options |= OpenSSLConstants.optionCipherServerPreference }
        _ = library.SSL_CTX_set_options(context, options)
        _ = library.SSL_CTX_ctrl(context, OpenSSLConstants.ctrlMode, OpenSSLConstants.modeReleaseBuffers, nil)
        return box
    }

    /// Loads a certificate chain and its private key, and checks that they belong together.
    static func useCertificate(_ certificate: TLSFile, key: TLSFile, in context: SSLContextBox, library: LibSSL)
        throws(TLSError)
    {
        try certificate.checkReadable()
        try key.checkReadable()
        guard library.SSL_CTX_use_certificate_chain_file(context.pointer, certificate.path) == 1 else {
            throw TLSError("\(certificate): not a PEM certificate chain (\(library.drainErrors(or: "unreadable")))")
        }
        guard library.SSL_CTX_use_PrivateKey_file(context.pointer, key.path, OpenSSLConstants.fileTypePEM) == 1 else {
            // OpenSSL compares the key with the certificate as it loads it.
            let reason = library.drainErrors(or: "unreadable")
            if reason.contains("key values mismatch") {
                throw TLSError("\(key): does not match the certificate in \(certificate.path) (\(reason))")
            }
            throw TLSError("\(key): not a PEM private key (\(reason))")
        }
        guard library.SSL_CTX_check_private_key(context.pointer) == 1 else {
            throw TLSError(
                "\(key): does not match the certificate in \(certificate.path) (\(library.drainErrors(or: "mismatch")))")
        }
    }

    /// Trusts the CA certificates in `ca` for verifying the peer.
    static func trust(_ ca: TLSFile, in context: SSLContextBox, library: LibSSL) throws(TLSError) {
        try ca.checkReadable()
        guard library.SSL_CTX_load_verify_locations(context.pointer, ca.path, nil) == 1 else {
            throw TLSError("\(ca): no PEM CA certificate in it (\(library.drainErrors(or: "unreadable")))")
        }
    }
}
