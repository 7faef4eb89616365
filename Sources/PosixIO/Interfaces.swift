import CGlue
import Glibc

/// One address of a network interface, as the sidecar needs it to pick the address it advertises.
package struct InterfaceAddress: Sendable, Equatable {
    /// The interface name (`eth0`, `lo`).
    package var name: String
    /// The address, with port 0.
    package var address: SocketAddress
    /// IFF_UP: the interface is administratively up.
    package var isUp: Bool
    /// IFF_LOOPBACK: traffic never leaves the host, so other hosts cannot use this address.
    package var isLoopback: Bool

    package init(name: String, address: SocketAddress, isUp: Bool, isLoopback: Bool) {
        self.name = name
        self.address = address
        self.isUp = isUp
        self.isLoopback = isLoopback
    }
}

extension Posix {
    /// The IPv4 and IPv6 addresses of the host's interfaces, in the kernel's order (other families,
    /// such as AF_PACKET, are left out).
    ///
    /// The corresponding C function is `getifaddrs`.
    package static func interfaceAddresses() throws(SystemCallError) -> [InterfaceAddress] {
        var list: UnsafeMutablePointer<ifaddrs>? = nil
        _ = try retrying("getifaddrs") { Glibc.getifaddrs(&list) }
        defer { freeifaddrs(list) }
        var result: [InterfaceAddress] = []
        var cursor = list
        while let entry = cursor {
            cursor = entry.pointee.ifa_next
            guard let raw = entry.pointee.ifa_addr else { continue }
            let family = CInt(raw.pointee.sa_family)
            guard family == AF_INET || family == AF_INET6 else { continue }
            var storage = sockaddr_storage()
            let length = family == AF_INET ? MemoryLayout<sockaddr_in>.size : MemoryLayout<sockaddr_in6>.size
            withUnsafeMutableBytes(of: &storage) {
                $0.copyMemory(from: UnsafeRawBufferPointer(start: raw, count: length))
            }
            guard let address = SocketAddress(storage: storage) else { continue }
            let flags = entry.pointee.ifa_flags
            result.append(
                InterfaceAddress(
                    name: String(cString: entry.pointee.ifa_name), address: address,
                    isUp: flags & UInt32(IFF_UP) != 0, isLoopback: flags & UInt32(IFF_LOOPBACK) != 0))
        }
        return result
    }
}
