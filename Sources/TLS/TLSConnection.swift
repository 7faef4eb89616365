import PosixIO

/// One TLS connection on OpenSSL memory BIOs: ciphertext in through `absorb`, out through
/// `takeOutput`; plaintext through `read` and `seal`. It never touches a socket, so the same object
/// serves the server's non-blocking event loops (as their `StreamSecurity`) and the blocking clients.
///
/// Confined to one thread at a time (a loop, or a client's caller), like the socket it belongs to.
package final class TLSConnection: StreamSecurity {
    private let library: LibSSL
    private let ssl: OpaquePointer
    /// Ciphertext from the peer, read by OpenSSL. Owned by `ssl`.
    private let inbound: OpaquePointer
    /// Ciphertext for the peer, written by OpenSSL. Owned by `ssl`.
    private let outbound: OpaquePointer
    package private(set) var isEstablished = false
    /// The verified peer certificate's names (PeerCertificate), once established.
    package private(set) var peerNames: [String] = []
    /// A fatal error happened: OpenSSL forbids any further call but freeing (no close alert either).
    private var hasFailed = false
    private var hasShutDown = false

    /// - Parameter context: an `SSL_CTX` to create the connection from (OpenSSL takes a reference, so
    ///   a reload may free its own afterwards).
    init(library: LibSSL, context: OpaquePointer, isServer: Bool) throws(TLSError) {
        self.library = library
        guard let ssl = library.SSL_new(context) else {
            throw TLSError(library.drainErrors(or: "SSL_new failed"))
        }
        guard let inbound = library.BIO_new(library.BIO_s_mem()), let outbound = library.BIO_new(library.BIO_s_mem())
        else {
            library.SSL_free(ssl)
            throw TLSError(library.drainErrors(or: "BIO_new failed"))
        }
        library.SSL_set_bio(ssl, inbound, outbound)
        if isServer { library.SSL_set_accept_state(ssl) } else { library.SSL_set_connect_state(ssl) }
        self.ssl = ssl
        self.inbound = inbound
        self.outbound = outbound
    }

    deinit { library.SSL_free(ssl) }

    // MARK: - Client set-up

    /// Verifies the server's certificate against `host` (an IP literal is checked against the
    /// certificate's IP addresses, a name against its DNS names) and sends the name as SNI.
    func expectServer(named host: String, isIPAddress: Bool) throws(TLSError) {
        let ok: Bool
        if isIPAddress {
            ok = library.X509_VERIFY_PARAM_set1_ip_asc(library.SSL_get0_param(ssl), host) == 1
        } else {
            ok = library.SSL_set1_host(ssl, host) == 1
                && host.withCString {
                    library.SSL_ctrl(
                        ssl, OpenSSLConstants.ctrlSetTLSExtHostName, OpenSSLConstants.tlsExtNameTypeHostName,
                        UnsafeMutableRawPointer(mutating: $0)) == 1
                }
        }
        guard ok else { throw TLSError(library.drainErrors(or: "cannot verify against \(host)")) }
    }

    // MARK: - StreamSecurity

    package var hasBufferedInput: Bool {
        !hasFailed && (library.SSL_pending(ssl) > 0 || library.BIO_ctrl(inbound, OpenSSLConstants.bioCtrlPending, 0, nil) > 0)
    }

    package func absorb(_ ciphertext: UnsafeRawBufferPointer) {
        guard !hasFailed, !ciphertext.isEmpty else { return }
        // A memory BIO takes everything (it grows); what it holds is bounded by the caller, which
        // stops reading the socket while the session is paused.
        _ = library.BIO_write(inbound, ciphertext.baseAddress, Int32(clamping: ciphertext.count))
    }

    /// Runs the handshake to its next step without reading application data: what a client does
    /// before its first request. `.plaintext(0)` once it is complete.
    package func handshake() -> SecureRead {
        guard !hasFailed else { return .failed("the connection has failed") }
        if isEstablished { return .plaintext(0) }
        let result = library.SSL_do_handshake(ssl)
        if result == 1 {
            established()
            return .plaintext(0)
        }
        return outcome(of: result)
    }

    package func read(into buffer: UnsafeMutableRawBufferPointer) -> SecureRead {
        guard !hasFailed else { return .failed("the connection has failed") }
        // Nothing buffered can give plaintext (a partial record inside OpenSSL needs more input too):
        // skip the call, which would only say so. The common case after each request.
        if isEstablished, !hasBufferedInput { return .needsInput }
        // SSL_read runs the handshake first while it is not done.
        let result = library.SSL_read(ssl, buffer.baseAddress, Int32(clamping: buffer.count))
        if !isEstablished, library.SSL_is_init_finished(ssl) == 1 { established() }
        if result > 0 { return .plaintext(Int(result)) }
        return outcome(of: result)
    }

    @discardableResult
    package func seal(_ plaintext: UnsafeRawBufferPointer) -> Bool {
        guard !hasFailed, !hasShutDown, isEstablished else { return false }
        guard !plaintext.isEmpty else { return true }
        // Into a memory BIO SSL_write takes everything at once (no partial writes, no WANT_WRITE).
        let result = library.SSL_write(ssl, plaintext.baseAddress, Int32(clamping: plaintext.count))
        if result > 0 { return true }
        _ = outcome(of: result)
        return false
    }

    package func shutdown() {
        guard !hasFailed, !hasShutDown, isEstablished else { return }
        hasShutDown = true
        if library.SSL_shutdown(ssl) < 0 { _ = library.drainErrors(or: "") }
    }

    package func takeOutput(into output: inout [UInt8]) {
        while true {
            let pending = library.BIO_ctrl(outbound, OpenSSLConstants.bioCtrlPending, 0, nil)
            guard pending > 0 else { return }
            let start = output.count
            output.append(contentsOf: repeatElement(0, count: pending))
            let read = output.withUnsafeMutableBytes { raw in
                library.BIO_read(outbound, raw.baseAddress! + start, Int32(clamping: pending))
            }
            output.removeLast(pending - max(0, Int(read)))
            if read <= 0 { return }
        }
    }

    // MARK: - Inspection

    /// "TLSv1.3", once established.
    package var protocolVersion: String { library.SSL_get_version(ssl).map { String(cString: $0) } ?? "" }

    /// "TLS_AES_128_GCM_SHA256", once established.
    package var cipherName: String {
        library.SSL_CIPHER_get_name(library.SSL_get_current_cipher(ssl)).map { String(cString: $0) } ?? ""
    }

    /// The protocol ALPN settled on ("http/1.1"), or nil when the peer offered none.
    package var negotiatedProtocol: String? {
        var data: UnsafePointer<UInt8>? = nil
        var length: UInt32 = 0
        library.SSL_get0_alpn_selected(ssl, &data, &length)
        guard let data, length > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(length)), as: UTF8.self)
    }

    // MARK: - Private

    private func established() {
        isEstablished = true
        peerNames = PeerCertificate.names(library: library, ssl: ssl)
    }

    /// What a call that returned `result` (not a success) means.
    private func outcome(of result: Int32) -> SecureRead {
        switch library.SSL_get_error(ssl, result) {
        case OpenSSLConstants.errorWantRead, OpenSSLConstants.errorWantWrite:
            return .needsInput
        case OpenSSLConstants.errorZeroReturn:
            return .closed
        case let code:
            hasFailed = true
            // With memory BIOs no system call fails: SSL_ERROR_SYSCALL with an empty queue means the
            // input ended in the middle.
            let fallback =
                code == OpenSSLConstants.errorSyscall ? "the peer ended the connection without a TLS close" : "TLS failure"
            var reason = library.drainErrors(or: fallback)
            let verification = library.SSL_get_verify_result(ssl)
            if verification != OpenSSLConstants.verifyOK, let text = library.X509_verify_cert_error_string(verification) {
                reason += " (\(String(cString: text)))"
            }
            return .failed(reason)
        }
    }
}
