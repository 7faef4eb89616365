import PosixIO

/// A PEM file named on the command line, with the flag that named it, so that every message about it
/// says which flag and which file (`--tls-key /etc/beacon/key.pem: cannot read: ...`).
package struct TLSFile: Sendable, Equatable, CustomStringConvertible {
    package var path: String
    package var flag: String

    package init(_ path: String, flag: String) {
        self.path = path
        self.flag = flag
    }

    package var description: String { "\(flag) \(path)" }

    /// Fails with the system's reason when the file cannot be read, before OpenSSL's less direct
    /// messages would.
    func checkReadable() throws(TLSError) {
        do throws(SystemCallError) {
            _ = try Files.read(path)
        } catch {
            throw TLSError("\(self): cannot read: \(error.errno)")
        }
    }
}

/// The side channel's certificate, key, and the CA its clients' certificates must chain to.
package struct TLSServerSettings: Sendable, Equatable {
    package var certificate: TLSFile
    package var key: TLSFile
    /// When set, every client must present a certificate that verifies against it.
    package var clientCA: TLSFile?

    package init(certificate: TLSFile, key: TLSFile, clientCA: TLSFile? = nil) {
        self.certificate = certificate
        self.key = key
        self.clientCA = clientCA
    }
}

/// What a client trusts and what it presents.
package struct TLSClientSettings: Sendable, Equatable {
    /// The CA bundle that verifies servers; nil trusts the system's store.
    package var ca: TLSFile?
    package var certificate: TLSFile?
    package var key: TLSFile?

    package init(ca: TLSFile? = nil, certificate: TLSFile? = nil, key: TLSFile? = nil) {
        self.ca = ca
        self.certificate = certificate
        self.key = key
    }
}
