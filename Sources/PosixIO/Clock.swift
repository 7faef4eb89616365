import CGlue
import Glibc

extension Posix {
    /// Nanoseconds on CLOCK_MONOTONIC (vDSO: no system call, no allocation).
    /// The corresponding C function is `clock_gettime`.
    @inline(__always)
    package static func monotonicNanoseconds() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Int64(time.tv_sec) &* 1_000_000_000 &+ Int64(time.tv_nsec)
    }

    /// Seconds since the Unix epoch, for logs and data that outlives the process.
    package static func wallClockSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// Sleeps the calling thread. The corresponding C function is `nanosleep`.
    package static func sleep(milliseconds: Int) {
        var request = timespec(tv_sec: milliseconds / 1000, tv_nsec: (milliseconds % 1000) * 1_000_000)
        var remaining = timespec()
        while nanosleep(&request, &remaining) == -1, errno == EINTR { request = remaining }
    }

    /// The process id. The corresponding C function is `getpid`.
    package static var processID: Int32 { getpid() }

    /// The number of CPUs this process may use: the CPUs in its affinity mask (`taskset`, a
    /// container's cpuset), lowered to a cgroup v2 CPU quota (`cpu.max`, Docker's `--cpus`) rounded
    /// up. Thread counts default to it, so a container limited to 2 CPUs on a 64-core host runs 2
    /// UDP threads, not 64. The corresponding C functions are `sched_getaffinity` and `sysconf`.
    package static func availableCPUs() -> Int {
        var mask = [UInt8](repeating: 0, count: 1024)
        var count = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        if CGlue.beacon_sched_getaffinity(0, UInt(mask.count), &mask) == 0 {
            count = mask.reduce(0) { $0 + $1.nonzeroBitCount }
        }
        if let quota = cgroupCPUQuota() { count = min(count, quota) }
        return max(1, count)
    }

    /// The cgroup v2 CPU limit of this process, in whole CPUs rounded up, or nil when unlimited.
    static func cgroupCPUQuota() -> Int? {
        guard let membership = try? Files.read("/proc/self/cgroup") else { return nil }
        // cgroup v2: one line "0::/path".
        guard let line = String(decoding: membership, as: UTF8.self).split(separator: "\n").first(where: { $0.hasPrefix("0::") })
        else { return nil }
        let path = String(line.dropFirst(3))
        guard let text = try? Files.read("/sys/fs/cgroup\(path == "/" ? "" : path)/cpu.max") else { return nil }
        return parseCPUMax(String(decoding: text, as: UTF8.self))
    }

    /// `cpu.max` holds "QUOTA PERIOD" or "max PERIOD": whole CPUs, rounded up.
    package static func parseCPUMax(_ text: String) -> Int? {
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard fields.count >= 2, let quota = Int(fields[0]), let period = Int(fields[1]), quota > 0, period > 0 else {
            return nil
        }
        return (quota + period - 1) / period
    }

    /// Raises the soft limit on open files to the hard limit (thousands of idle connections need it).
    package static func raiseOpenFileLimit() {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
    }

    /// Writes a line to standard error without buffering (logs, start-up failures).
    package static func writeStandardError(_ text: String) { writeUnbuffered(2, text) }

    /// Writes to standard output without buffering.
    package static func writeStandardOutput(_ text: String) { writeUnbuffered(1, text) }

    /// Writes all of `text` to `fd`, retrying partial writes and EINTR; gives up on other errors
    /// (there is nowhere left to report them).
    private static func writeUnbuffered(_ fd: CInt, _ text: String) {
        Array(text.utf8).withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if written <= 0 {
                    if written == -1, errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }
}

extension Posix {
    /// The process environment as a dictionary.
    package static func environment() -> [String: String] {
        var result: [String: String] = [:]
        var cursor = environ
        while let entry = cursor.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            cursor += 1
        }
        return result
    }

    /// Gives memory freed by a burst of work (recovery's temporary tables) back to the system.
    /// The corresponding C function is `malloc_trim`.
    package static func releaseFreeMemory() { _ = CGlue.malloc_trim(0) }

    /// Ends the process. The corresponding C function is `exit`.
    package static func exit(_ status: Int32) -> Never { Glibc.exit(status) }
}
