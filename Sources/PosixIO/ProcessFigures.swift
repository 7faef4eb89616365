/// This process's resource use, read from /proc (for `/metrics`): what an operator alerts on before
/// the kernel's limits do.
package struct ProcessFigures: Sendable {
    package var residentBytes: Int = 0
    package var threads: Int = 0
    package var openDescriptors: Int = 0
    /// The soft limit on open descriptors.
    package var maximumDescriptors: Int = 0

    /// Reads the figures now; a figure that cannot be read stays 0.
    package static func current() -> ProcessFigures {
        var figures = ProcessFigures()
        if let status = try? Files.read("/proc/self/status") {
            for line in String(decoding: status, as: UTF8.self).split(separator: "\n") {
                let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
                guard fields.count >= 2, let value = Int(fields[1]) else { continue }
                if fields[0] == "VmRSS:" { figures.residentBytes = value * 1024 }
                if fields[0] == "Threads:" { figures.threads = value }
            }
        }
        figures.openDescriptors = ((try? Files.list("/proc/self/fd")) ?? []).count
        if let limits = try? Files.read("/proc/self/limits") {
            for line in String(decoding: limits, as: UTF8.self).split(separator: "\n") where line.hasPrefix("Max open files") {
                let fields = line.split(separator: " ")
                if fields.count >= 4, let soft = Int(fields[3]) { figures.maximumDescriptors = soft }
            }
        }
        return figures
    }
}
