/// The names in a peer's certificate that can identify a client: what `--token-file` may list.
enum PeerCertificate {
    /// The subject's common names, then the subjectAltName DNS names, email addresses and URIs, in
    /// the certificate's order. Empty when the peer sent no certificate or it failed verification
    /// (a connection only gets this far verified, but a name from an unverified certificate must
    /// never count, so it is checked again).
    static func names(library: LibSSL, ssl: OpaquePointer) -> [String] {
        guard library.SSL_get_verify_result(ssl) == OpenSSLConstants.verifyOK,
            let certificate = library.SSL_get1_peer_certificate(ssl)
        else { return [] }
        defer { library.X509_free(certificate) }
        var names: [String] = []
        if let subject = library.X509_get_subject_name(certificate) {
            var index: Int32 = -1
            while true {
                index = library.X509_NAME_get_index_by_NID(subject, OpenSSLConstants.nidCommonName, index)
                guard index >= 0, let entry = library.X509_NAME_get_entry(subject, index) else { break }
                if let text = text(library: library, library.X509_NAME_ENTRY_get_data(entry)) { names.append(text) }
            }
        }
        if let alternatives = library.X509_get_ext_d2i(certificate, OpenSSLConstants.nidSubjectAltName, nil, nil) {
            defer { library.GENERAL_NAMES_free(alternatives) }
            for index in 0..<library.OPENSSL_sk_num(alternatives) {
                guard let name = library.OPENSSL_sk_value(alternatives, index) else { continue }
                // struct GENERAL_NAME { int type; union { ASN1_IA5STRING *ia5; ... } d; }: the union
                // holds one pointer, aligned after the int.
                let type = name.load(as: Int32.self)
                let valueOffset = MemoryLayout<UnsafeRawPointer>.alignment
                switch type {
                case OpenSSLConstants.generalNameDNS, OpenSSLConstants.generalNameEmail, OpenSSLConstants.generalNameURI:
                    let value = name.load(fromByteOffset: valueOffset, as: OpaquePointer?.self)
                    if let text = text(library: library, value) { names.append(text) }
                default:
                    continue
                }
            }
        }
        return names
    }

    /// An ASN1_STRING's bytes as text; nil when empty or holding a NUL (a name with an embedded NUL
    /// is a classic way to fool a comparison, so it matches nothing).
    private static func text(library: LibSSL, _ string: OpaquePointer?) -> String? {
        guard let string, let data = library.ASN1_STRING_get0_data(string) else { return nil }
        let length = Int(library.ASN1_STRING_length(string))
        guard length > 0 else { return nil }
        let bytes = UnsafeBufferPointer(start: data, count: length)
        guard !bytes.contains(0) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }
}
