import CGlue
import Glibc
import Primitives

/// An IPv4 or IPv6 socket address.
package enum SocketAddress: Sendable, Hashable, CustomStringConvertible {
    case v4(host: IPv4Address, port: UInt16)
    case v6(host: IPv6Address, port: UInt16, scope: UInt32)

    /// Parses `HOST:PORT`, `[V6HOST]:PORT`, or `localhost:PORT`.
    package init?(parsing text: String) {
        var host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portText = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            guard !host.contains(":") else { return nil }
        }
        guard !portText.isEmpty, portText.allSatisfy({ $0.isASCII && $0.isNumber }), let port = UInt16(portText) else {
            return nil
        }
        if host == "localhost" { host = "127.0.0.1" }
        switch IPAddress(host) {
        case .v4(let address)?: self = .v4(host: address, port: port)
        case .v6(let address)?: self = .v6(host: address, port: port, scope: 0)
        case nil: return nil
        }
    }

    package init?(storage: sockaddr_storage) {
        var storage = storage
        switch CInt(storage.ss_family) {
        case AF_INET:
            let address = withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee }
            }
            self = .v4(
                host: IPv4Address(UInt32(bigEndian: address.sin_addr.s_addr)), port: UInt16(bigEndian: address.sin_port))
        case AF_INET6:
            let address = withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee }
            }
            self = .v6(
                host: withUnsafeBytes(of: address.sin6_addr) { IPv6Address(bytes: $0) },
                port: UInt16(bigEndian: address.sin6_port),
                scope: address.sin6_scope_id)
        default:
            return nil
        }
    }

    package var port: UInt16 {
        switch self {
        case .v4(_, let port), .v6(_, let port, _): port
        }
    }

    package var family: CInt {
        switch self {
        case .v4: AF_INET
        case .v6: AF_INET6
        }
    }

    /// The host part as text (`127.0.0.1`, `::1`).
    package var hostText: String {
        switch self {
        case .v4(let host, _): host.description
        case .v6(let host, _, _): host.description
        }
    }

    /// Whether the host is 0.0.0.0 or ::.
    package var isUnspecified: Bool {
        switch self {
        case .v4(let host, _): host.value == 0
        case .v6(let host, _, _): host.high == 0 && host.low == 0
        }
    }

    package var description: String {
        switch self {
        case .v4: "\(hostText):\(port)"
        case .v6: "[\(hostText)]:\(port)"
        }
    }

    /// Lends the address as a `sockaddr` pointer and its length.
    package func withSockAddr<R, E: Error>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws(E) -> R) throws(E) -> R {
        switch self {
        case .v4(let host, let port):
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            address.sin_addr = in_addr(s_addr: host.value.bigEndian)
            return try withUnsafeBytes(of: &address) { (raw) throws(E) -> R in
                try body(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        case .v6(let host, let port, let scope):
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = port.bigEndian
            address.sin6_scope_id = scope
            withUnsafeMutableBytes(of: &address.sin6_addr) {
                $0.storeBytes(of: host.high.bigEndian, toByteOffset: 0, as: UInt64.self)
                $0.storeBytes(of: host.low.bigEndian, toByteOffset: 8, as: UInt64.self)
            }
            return try withUnsafeBytes(of: &address) { (raw) throws(E) -> R in
                try body(
                    raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(MemoryLayout<sockaddr_in6>.size))
            }
        }
    }

    /// Writes the address into a `sockaddr_storage` and returns the length used.
    package func store(into storage: UnsafeMutablePointer<sockaddr_storage>) -> socklen_t {
        withSockAddr { pointer, length in
            UnsafeMutableRawPointer(storage).copyMemory(from: pointer, byteCount: Int(length))
            return length
        }
    }
}
