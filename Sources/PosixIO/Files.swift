import CGlue
import Glibc

/// Whole-file helpers for configuration and data files (not the journal's append path).
package enum Files {
    /// Reads a whole file.
    package static func read(_ path: String) throws(SystemCallError) -> [UInt8] {
        let fd = FileDescriptor(taking: try Posix.open(path, flags: O_RDONLY))
        return try fd.withUnsafeDescriptor { (raw) throws(SystemCallError) -> [UInt8] in
            var result: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let count = try chunk.withUnsafeMutableBytes { buffer in
                    catching { () throws(SystemCallError) in try Posix.pread(raw, into: buffer, offset: result.count) }
                }.get()
                if count == 0 { return result }
                result.append(contentsOf: chunk[0..<count])
            }
        }
    }

    /// The names in a directory (not `.` or `..`), sorted.
    package static func list(_ path: String) throws(SystemCallError) -> [String] {
        guard let directory = opendir(path) else { throw SystemCallError(call: "opendir \(path)", errno: .current) }
        defer { closedir(directory) }
        var names: [String] = []
        // A dirent may be shorter than `struct dirent` (its d_reclen): read the name in place as a
        // C string, never by copying the whole fixed-size d_name array out of it.
        let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!
        while let entry = readdir(directory) {
            let name = String(cString: (UnsafeRawPointer(entry) + nameOffset).assumingMemoryBound(to: CChar.self))
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    package static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    package static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Creates `path` and its missing parents.
    package static func makeDirectories(_ path: String) throws(SystemCallError) {
        guard !path.isEmpty, !isDirectory(path) else { return }
        let parent = directoryName(of: path)
        if parent != path { try makeDirectories(parent) }
        do throws(SystemCallError) {
            try Posix.makeDirectory(path)
        } catch where error.errno.rawValue == EEXIST {
        }
    }

    /// Replaces `path` with `bytes` so that a crash leaves either the old or the new file: write a
    /// temporary file, fsync it, rename it over, fsync the directory.
    package static func writeAtomically(_ path: String, _ bytes: [UInt8]) throws(SystemCallError) {
        let temporary = path + ".tmp"
        let fd = FileDescriptor(taking: try Posix.open(temporary, flags: O_WRONLY | O_CREAT | O_TRUNC))
        try fd.withUnsafeDescriptor { (raw) throws(SystemCallError) in
            try writeAll(raw, bytes)
            try Posix.fsync(raw)
        }
        _ = consume fd
        try Posix.rename(temporary, to: path)
        try syncDirectory(directoryName(of: path))
    }

    /// Writes all of `bytes` to a blocking descriptor.
    package static func writeAll(_ fd: CInt, _ bytes: [UInt8]) throws(SystemCallError) {
        try writeAll(fd, bytes[...])
    }

    package static func writeAll(_ fd: CInt, _ bytes: ArraySlice<UInt8>) throws(SystemCallError) {
        var offset = bytes.startIndex
        while offset < bytes.endIndex {
            let result = try bytes.withUnsafeBytes { raw in
                catching { () throws(SystemCallError) in
                    try Posix.write(fd, from: UnsafeRawBufferPointer(rebasing: raw[(offset - bytes.startIndex)...]))
                }
            }.get()
            switch result {
            case .processed(let count): offset += count
            case .wouldBlock: _ = try Posix.poll(fd, events: Int16(POLLOUT), timeoutMilliseconds: 1000)
            }
        }
    }

    /// Makes a rename or file creation in `directory` durable.
    package static func syncDirectory(_ directory: String) throws(SystemCallError) {
        let fd = FileDescriptor(taking: try Posix.open(directory, flags: O_RDONLY | O_DIRECTORY))
        try fd.withUnsafeDescriptor { (raw) throws(SystemCallError) in try Posix.fsync(raw) }
    }

    package static func directoryName(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// The path of the running executable (`/proc/self/exe`). The corresponding C function is `readlink`.
    package static func executablePath() -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = Glibc.readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
