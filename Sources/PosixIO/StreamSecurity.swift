/// An encryption layer between a stream socket and its session (TLS), driven by `StreamConnection`.
///
/// It works on memory only: the connection reads ciphertext from the socket and hands it over with
/// `absorb`, takes the plaintext out with `read`, and queues whatever `takeOutput` produced for the
/// peer. So the socket's system calls, deadlines and back-pressure stay in this module, the same for
/// plain and encrypted connections, and the layer (which lives in a module that loads OpenSSL at run
/// time) never touches a descriptor.
package protocol StreamSecurity: AnyObject {
    /// Whether the handshake has completed (the peer is verified when verification was asked for).
    var isEstablished: Bool { get }
    /// Names from the peer's verified certificate (subject CN, then subjectAltName DNS, email and URI
    /// entries); empty when the peer presented none.
    var peerNames: [String] { get }
    /// Ciphertext or plaintext held that `read` can return without more input.
    var hasBufferedInput: Bool { get }

    /// Takes ciphertext read from the socket.
    func absorb(_ ciphertext: UnsafeRawBufferPointer)
    /// Advances the handshake, then decrypts the next plaintext into `buffer`.
    func read(into buffer: UnsafeMutableRawBufferPointer) -> SecureRead
    /// Encrypts `plaintext` for `takeOutput`. False once the layer has failed or closed.
    @discardableResult
    func seal(_ plaintext: UnsafeRawBufferPointer) -> Bool
    /// Queues the close alert (TLS close_notify) when the handshake is done and nothing has failed.
    func shutdown()
    /// Moves the bytes produced for the peer (handshake messages, records, alerts) to the end of
    /// `output`.
    func takeOutput(into output: inout [UInt8])
}

/// What `StreamSecurity.read` produced.
package enum SecureRead: Equatable {
    /// This many bytes of plaintext are in the buffer.
    case plaintext(Int)
    /// Nothing more until more ciphertext arrives (a handshake in progress, or half a record).
    case needsInput
    /// The peer closed its side cleanly (TLS close_notify).
    case closed
    /// The handshake or a record failed: the reason, for the log. The connection must end.
    case failed(String)
}
