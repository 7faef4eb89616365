// TLS: HTTPS for the side channel and its clients, and etcds:// for the store, on the system's
// OpenSSL 3 loaded at run time only when a TLS flag asks for it. No OpenSSL header or link flag is
// needed to build: every function is looked up by name and called through a typed C function pointer.
import Primitives
import PosixIO

/// The OpenSSL 3 functions Beacon calls, bound from `libssl.so.3` (and the `libcrypto.so.3` it
/// loads). Pointers to OpenSSL's own structures are opaque here.
///
/// Several documented "functions" are macros over `SSL_CTX_ctrl`/`SSL_ctrl`/`BIO_ctrl` in the
/// headers (`SSL_CTX_set_min_proto_version`, `SSL_set_tlsext_host_name`, `BIO_pending`): those go
/// through the ctrl call with the command numbers in `OpenSSLConstants`.
package struct LibSSL: @unchecked Sendable {
    // Unchecked: C function pointers, immutable once bound; OpenSSL 3 is thread-safe for these calls.
    typealias Pointer = OpaquePointer?
    typealias Text = UnsafePointer<CChar>
    /// (SSL*, out, outlen, in, inlen, arg) -> SSL_TLSEXT_ERR_*
    typealias ALPNSelect = @convention(c) (
        Pointer, UnsafeMutablePointer<UnsafePointer<UInt8>?>?, UnsafeMutablePointer<UInt8>?, UnsafePointer<UInt8>?,
        UInt32, UnsafeMutableRawPointer?
    ) -> Int32

    // Contexts
    let TLS_server_method: @convention(c) () -> Pointer
    let TLS_client_method: @convention(c) () -> Pointer
    let SSL_CTX_new: @convention(c) (Pointer) -> Pointer
    let SSL_CTX_free: @convention(c) (Pointer) -> Void
    let SSL_CTX_ctrl: @convention(c) (Pointer, Int32, Int, UnsafeMutableRawPointer?) -> Int
    let SSL_CTX_set_options: @convention(c) (Pointer, UInt64) -> UInt64
    let SSL_CTX_set_cipher_list: @convention(c) (Pointer, Text) -> Int32
    let SSL_CTX_set_ciphersuites: @convention(c) (Pointer, Text) -> Int32
    let SSL_CTX_use_certificate_chain_file: @convention(c) (Pointer, Text) -> Int32
    let SSL_CTX_use_PrivateKey_file: @convention(c) (Pointer, Text, Int32) -> Int32
    let SSL_CTX_check_private_key: @convention(c) (Pointer) -> Int32
    let SSL_CTX_load_verify_locations: @convention(c) (Pointer, Text?, Text?) -> Int32
    let SSL_CTX_set_default_verify_paths: @convention(c) (Pointer) -> Int32
    let SSL_CTX_set_verify: @convention(c) (Pointer, Int32, UnsafeRawPointer?) -> Void
    let SSL_load_client_CA_file: @convention(c) (Text) -> Pointer
    let SSL_CTX_set_client_CA_list: @convention(c) (Pointer, Pointer) -> Void
    let SSL_CTX_set_session_id_context: @convention(c) (Pointer, UnsafePointer<UInt8>, UInt32) -> Int32
    let SSL_CTX_set_alpn_select_cb: @convention(c) (Pointer, ALPNSelect?, UnsafeMutableRawPointer?) -> Void
    let SSL_CTX_set_alpn_protos: @convention(c) (Pointer, UnsafePointer<UInt8>, UInt32) -> Int32

    // Connections
    let SSL_new: @convention(c) (Pointer) -> Pointer
    let SSL_free: @convention(c) (Pointer) -> Void
    let SSL_ctrl: @convention(c) (Pointer, Int32, Int, UnsafeMutableRawPointer?) -> Int
    let SSL_set_bio: @convention(c) (Pointer, Pointer, Pointer) -> Void
    let SSL_set_accept_state: @convention(c) (Pointer) -> Void
    let SSL_set_connect_state: @convention(c) (Pointer) -> Void
    let SSL_set1_host: @convention(c) (Pointer, Text) -> Int32
    let SSL_get0_param: @convention(c) (Pointer) -> Pointer
    let X509_VERIFY_PARAM_set1_ip_asc: @convention(c) (Pointer, Text) -> Int32
    let SSL_do_handshake: @convention(c) (Pointer) -> Int32
    let SSL_is_init_finished: @convention(c) (Pointer) -> Int32
    let SSL_read: @convention(c) (Pointer, UnsafeMutableRawPointer?, Int32) -> Int32
    let SSL_write: @convention(c) (Pointer, UnsafeRawPointer?, Int32) -> Int32
    let SSL_pending: @convention(c) (Pointer) -> Int32
    let SSL_get_error: @convention(c) (Pointer, Int32) -> Int32
    let SSL_shutdown: @convention(c) (Pointer) -> Int32
    let SSL_get_version: @convention(c) (Pointer) -> Text?
    let SSL_get_current_cipher: @convention(c) (Pointer) -> Pointer
    let SSL_CIPHER_get_name: @convention(c) (Pointer) -> Text?
    let SSL_get0_alpn_selected:
        @convention(c) (Pointer, UnsafeMutablePointer<UnsafePointer<UInt8>?>, UnsafeMutablePointer<UInt32>) -> Void
    let SSL_get_verify_result: @convention(c) (Pointer) -> Int
    let SSL_get1_peer_certificate: @convention(c) (Pointer) -> Pointer

    // Memory BIOs: the connection moves ciphertext between them and the socket itself.
    let BIO_s_mem: @convention(c) () -> Pointer
    let BIO_new: @convention(c) (Pointer) -> Pointer
    let BIO_read: @convention(c) (Pointer, UnsafeMutableRawPointer?, Int32) -> Int32
    let BIO_write: @convention(c) (Pointer, UnsafeRawPointer?, Int32) -> Int32
    let BIO_ctrl: @convention(c) (Pointer, Int32, Int, UnsafeMutableRawPointer?) -> Int

    // Certificates
    let X509_free: @convention(c) (Pointer) -> Void
    let X509_get_subject_name: @convention(c) (Pointer) -> Pointer
    let X509_NAME_get_index_by_NID: @convention(c) (Pointer, Int32, Int32) -> Int32
    let X509_NAME_get_entry: @convention(c) (Pointer, Int32) -> Pointer
    let X509_NAME_ENTRY_get_data: @convention(c) (Pointer) -> Pointer
    let ASN1_STRING_get0_data: @convention(c) (Pointer) -> UnsafePointer<UInt8>?
    let ASN1_STRING_length: @convention(c) (Pointer) -> Int32
    let X509_get_ext_d2i: @convention(c) (Pointer, Int32, UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<Int32>?)
        -> UnsafeMutableRawPointer?
    let OPENSSL_sk_num: @convention(c) (UnsafeRawPointer?) -> Int32
    let OPENSSL_sk_value: @convention(c) (UnsafeRawPointer?, Int32) -> UnsafeMutableRawPointer?
    let GENERAL_NAMES_free: @convention(c) (UnsafeMutableRawPointer?) -> Void
    let X509_verify_cert_error_string: @convention(c) (Int) -> Text?

    // Errors
    let ERR_get_error: @convention(c) () -> UInt
    let ERR_error_string_n: @convention(c) (UInt, UnsafeMutablePointer<CChar>?, Int) -> Void
    let ERR_clear_error: @convention(c) () -> Void
    let OpenSSL_version: @convention(c) (Int32) -> Text?

    /// Binds every function, or names the first one missing (an OpenSSL older than 3).
    init(ssl: DynamicLibrary) throws(TLSError) {
        func bind<F>(_ name: String) throws(TLSError) -> F {
            guard let address = ssl.address(of: name) else {
                throw TLSError("\(ssl.name) has no \(name): TLS needs OpenSSL 3")
            }
            return unsafeBitCast(address, to: F.self)
        }
        TLS_server_method = try bind("TLS_server_method")
        TLS_client_method = try bind("TLS_client_method")
        SSL_CTX_new = try bind("SSL_CTX_new")
        SSL_CTX_free = try bind("SSL_CTX_free")
        SSL_CTX_ctrl = try bind("SSL_CTX_ctrl")
        SSL_CTX_set_options = try bind("SSL_CTX_set_options")
        SSL_CTX_set_cipher_list = try bind("SSL_CTX_set_cipher_list")
        SSL_CTX_set_ciphersuites = try bind("SSL_CTX_set_ciphersuites")
        SSL_CTX_use_certificate_chain_file = try bind("SSL_CTX_use_certificate_chain_file")
        SSL_CTX_use_PrivateKey_file = try bind("SSL_CTX_use_PrivateKey_file")
        SSL_CTX_check_private_key = try bind("SSL_CTX_check_private_key")
        SSL_CTX_load_verify_locations = try bind("SSL_CTX_load_verify_locations")
        SSL_CTX_set_default_verify_paths = try bind("SSL_CTX_set_default_verify_paths")
        SSL_CTX_set_verify = try bind("SSL_CTX_set_verify")
        SSL_load_client_CA_file = try bind("SSL_load_client_CA_file")
        SSL_CTX_set_client_CA_list = try bind("SSL_CTX_set_client_CA_list")
        SSL_CTX_set_session_id_context = try bind("SSL_CTX_set_session_id_context")
        SSL_CTX_set_alpn_select_cb = try bind("SSL_CTX_set_alpn_select_cb")
        SSL_CTX_set_alpn_protos = try bind("SSL_CTX_set_alpn_protos")
        SSL_new = try bind("SSL_new")
        SSL_free = try bind("SSL_free")
        SSL_ctrl = try bind("SSL_ctrl")
        SSL_set_bio = try bind("SSL_set_bio")
        SSL_set_accept_state = try bind("SSL_set_accept_state")
        SSL_set_connect_state = try bind("SSL_set_connect_state")
        SSL_set1_host = try bind("SSL_set1_host")
        SSL_get0_param = try bind("SSL_get0_param")
        X509_VERIFY_PARAM_set1_ip_asc = try bind("X509_VERIFY_PARAM_set1_ip_asc")
        SSL_do_handshake = try bind("SSL_do_handshake")
        SSL_is_init_finished = try bind("SSL_is_init_finished")
        SSL_read = try bind("SSL_read")
        SSL_write = try bind("SSL_write")
        SSL_pending = try bind("SSL_pending")
        SSL_get_error = try bind("SSL_get_error")
        SSL_shutdown = try bind("SSL_shutdown")
        SSL_get_version = try bind("SSL_get_version")
        SSL_get_current_cipher = try bind("SSL_get_current_cipher")
        SSL_CIPHER_get_name = try bind("SSL_CIPHER_get_name")
        SSL_get0_alpn_selected = try bind("SSL_get0_alpn_selected")
        SSL_get_verify_result = try bind("SSL_get_verify_result")
        SSL_get1_peer_certificate = try bind("SSL_get1_peer_certificate")
        BIO_s_mem = try bind("BIO_s_mem")
        BIO_new = try bind("BIO_new")
        BIO_read = try bind("BIO_read")
        BIO_write = try bind("BIO_write")
        BIO_ctrl = try bind("BIO_ctrl")
        X509_free = try bind("X509_free")
        X509_get_subject_name = try bind("X509_get_subject_name")
        X509_NAME_get_index_by_NID = try bind("X509_NAME_get_index_by_NID")
        X509_NAME_get_entry = try bind("X509_NAME_get_entry")
        X509_NAME_ENTRY_get_data = try bind("X509_NAME_ENTRY_get_data")
        ASN1_STRING_get0_data = try bind("ASN1_STRING_get0_data")
        ASN1_STRING_length = try bind("ASN1_STRING_length")
        X509_get_ext_d2i = try bind("X509_get_ext_d2i")
        OPENSSL_sk_num = try bind("OPENSSL_sk_num")
        OPENSSL_sk_value = try bind("OPENSSL_sk_value")
        GENERAL_NAMES_free = try bind("GENERAL_NAMES_free")
        X509_verify_cert_error_string = try bind("X509_verify_cert_error_string")
        ERR_get_error = try bind("ERR_get_error")
        ERR_error_string_n = try bind("ERR_error_string_n")
        ERR_clear_error = try bind("ERR_clear_error")
        OpenSSL_version = try bind("OpenSSL_version")
    }

    // MARK: - Loading, once

    /// The library to load: `$BEACON_LIBSSL` when set (an OpenSSL 3 outside the loader's path), else
    /// `libssl.so.3`, which every current distribution ships.
    package static var libraryName: String {
        Posix.environment()["BEACON_LIBSSL"].flatMap { $0.isEmpty ? nil : $0 } ?? "libssl.so.3"
    }

    private static let loaded = Locked<Result<LibSSL, TLSError>?>(nil)

    /// Loads and binds OpenSSL on first use; later calls return the same table (or the same error).
    /// Nothing calls this unless a TLS flag was given, so a plain server never maps libssl.
    package static func load() throws(TLSError) -> LibSSL {
        try loaded.withLock { (cached: inout Result<LibSSL, TLSError>?) -> Result<LibSSL, TLSError> in
            if let cached { return cached }
            let result = catching { () throws(TLSError) -> LibSSL in
                let name = libraryName
                let library: DynamicLibrary
                do throws(DynamicLibraryError) {
                    library = try DynamicLibrary(opening: name)
                } catch {
                    throw TLSError("TLS needs OpenSSL 3 (\(name)), which cannot be loaded: \(error.message)")
                }
                return try LibSSL(ssl: library)
            }
            cached = result
            return result
        }.get()
    }

    /// "OpenSSL 3.0.19 27 Jan 2026", for the start-up log.
    package var versionText: String { OpenSSL_version(0).map { String(cString: $0) } ?? "OpenSSL" }

    // MARK: - Errors

    /// Empties this thread's OpenSSL error queue into one line (`error:0A00009C:SSL routines::http
    /// request; ...`), or `fallback` when it holds nothing. The queue is per thread and must be empty
    /// before the next call whose failure `SSL_get_error` explains, so every failure path drains it.
    func drainErrors(or fallback: String) -> String {
        var reasons: [String] = []
        var buffer = [CChar](repeating: 0, count: 256)
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            if reasons.count < 4 {
                ERR_error_string_n(code, &buffer, buffer.count)
                reasons.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
            }
        }
        return reasons.isEmpty ? fallback : reasons.joined(separator: "; ")
    }
}

/// Why TLS could not be set up or a connection failed: one line for a log or stderr.
package struct TLSError: Error, Sendable, Equatable, CustomStringConvertible {
    package var message: String
    package init(_ message: String) { self.message = message }
    package var description: String { message }
}
