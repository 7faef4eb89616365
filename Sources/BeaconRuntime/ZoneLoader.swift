import Primitives
import Authority
import DNSWire
import PosixIO
import ZoneFile

/// Loads every `*.zone` file of a directory and adds the registration domain's zone if none holds it.
package enum ZoneLoader {
    package static func load(
        directory: String, mustExist: Bool, domain: DomainName, nameServerAddress: SocketAddress?
    ) throws(StartupError) -> ZoneSet {
        var zones: [Zone] = []
        var origins: [DomainName: String] = [:]
        if Files.isDirectory(directory) {
            let names: [String]
            do throws(SystemCallError) {
                names = try Files.list(directory)
            } catch {
                throw StartupError("--zones \(directory): \(error.errno)")
            }
            for name in names where name.hasSuffix(".zone") {
                let path = directory.hasSuffix("/") ? directory + name : directory + "/" + name
                let data = try parse(path: path, fileName: name)
                if let other = origins[data.origin] {
                    throw StartupError("\(path): zone \(data.origin) is already loaded from \(other)")
                }
                origins[data.origin] = path
                zones.append(Zone(data: data))
            }
        } else if mustExist {
            throw StartupError("--zones \(directory): no such directory")
        }
        if !zones.contains(where: { $0.origin == domain }) {
            zones.append(Zone.generated(apex: domain, nameServerAddress: nameServerAddress.flatMap(Self.ipAddress)))
        }
        return ZoneSet(zones)
    }

    private static func parse(path: String, fileName: String) throws(StartupError) -> ZoneData {
        let text: [UInt8]
        do throws(SystemCallError) {
            text = try Files.read(path)
        } catch {
            throw StartupError("\(path): cannot read: \(error.errno)")
        }
        let stem = String(fileName.dropLast(".zone".count))
        let origin = try? DomainName(stem.hasSuffix(".") ? stem : stem + ".")
        let directory = Files.directoryName(of: path)
        do throws(ZoneFileError) {
            return try ZoneFileParser.parse(text, fileName: path, defaultOrigin: origin) { include in
                let resolved = include.hasPrefix("/") ? include : directory + "/" + include
                return try Files.read(resolved)
            }
        } catch {
            throw StartupError(error.description)
        }
    }

    private static func ipAddress(_ address: SocketAddress) -> IPAddress? {
        guard !address.isUnspecified else { return nil }
        return IPAddress(address.hostText)
    }
}
