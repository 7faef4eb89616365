/// Numbers from OpenSSL 3's headers (ssl.h, tls1.h, bio.h, obj_mac.h, x509v3.h), written out because
/// the build reads no OpenSSL header. They are part of OpenSSL's stable ABI.
enum OpenSSLConstants {
    // ssl.h: SSL_CTX_ctrl / SSL_ctrl commands behind the header macros.
    static let ctrlMode: Int32 = 33  // SSL_CTRL_MODE (SSL_CTX_set_mode)
    static let ctrlSetTLSExtHostName: Int32 = 55  // SSL_CTRL_SET_TLSEXT_HOSTNAME (SSL_set_tlsext_host_name)
    static let ctrlSetMinProtoVersion: Int32 = 123  // SSL_CTRL_SET_MIN_PROTO_VERSION
    static let ctrlSetMaxProtoVersion: Int32 = 124  // SSL_CTRL_SET_MAX_PROTO_VERSION
    static let tlsExtNameTypeHostName = 0  // TLSEXT_NAMETYPE_host_name

    // prov_ssl.h
    static let tls1_1Version = 0x0302
    static let tls1_2Version = 0x0303
    static let tls1_3Version = 0x0304

    // ssl.h: SSL_OP_* bits (uint64_t in OpenSSL 3).
    static let optionNoCompression: UInt64 = 1 << 17
    static let optionCipherServerPreference: UInt64 = 1 << 22
    static let optionNoRenegotiation: UInt64 = 1 << 30

    // ssl.h: SSL_MODE_* bits.
    /// Frees a connection's read and write buffers while it is idle: an idle keep-alive connection then
    /// holds a few KiB rather than about 34 KiB.
    static let modeReleaseBuffers = 0x10

    static let fileTypePEM: Int32 = 1  // SSL_FILETYPE_PEM

    static let verifyPeer: Int32 = 0x01  // SSL_VERIFY_PEER
    static let verifyFailIfNoPeerCertificate: Int32 = 0x02  // SSL_VERIFY_FAIL_IF_NO_PEER_CERT

    // ssl.h: SSL_get_error results.
    static let errorNone: Int32 = 0
    static let errorSSL: Int32 = 1
    static let errorWantRead: Int32 = 2
    static let errorWantWrite: Int32 = 3
    static let errorSyscall: Int32 = 5
    static let errorZeroReturn: Int32 = 6

    // tls1.h: ALPN selection callback results.
    static let tlsExtOK: Int32 = 0
    static let tlsExtAlertFatal: Int32 = 2
    static let tlsExtNoAck: Int32 = 3

    // bio.h
    static let bioCtrlPending: Int32 = 10  // BIO_CTRL_PENDING (BIO_pending)

    // obj_mac.h
    static let nidCommonName: Int32 = 13
    static let nidSubjectAltName: Int32 = 85

    // x509v3.h: GENERAL_NAME types.
    static let generalNameEmail: Int32 = 1
    static let generalNameDNS: Int32 = 2
    static let generalNameURI: Int32 = 6
    static let generalNameIPAddress: Int32 = 7

    // x509_vfy.h
    static let verifyOK = 0  // X509_V_OK

    /// TLS 1.2 suites with forward secrecy and AEAD only (Mozilla's "intermediate" list without DHE).
    /// TLS 1.3 suites are all modern; OpenSSL's default set is kept.
    static let tls12Ciphers =
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
        + "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
    static let tls13Ciphersuites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

    /// ALPN protocol list in wire form: one length-prefixed name.
    static let alpnHTTP11: [UInt8] = [8] + Array("http/1.1".utf8)
}
