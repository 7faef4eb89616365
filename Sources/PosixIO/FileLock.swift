import CGlue
import Glibc

/// An exclusive advisory lock on a file, held while the value lives: one server per data directory.
///
/// `flock` locks belong to the open file, so the kernel drops the lock when the process ends, even
/// by SIGKILL: a crash never leaves a directory locked. The holder's PID is written into the file
/// so that a second server can name it.
package final class FileLock: Sendable {
    private let descriptor: FileDescriptor
    package let path: String

    /// Why the lock could not be taken.
    package enum Failure: Error, Sendable {
        /// Another process holds it; its PID as written in the file, when readable.
        case held(byProcess: Int32?)
        case system(SystemCallError)
    }

    /// Takes the lock on `path` (created if missing), waiting at most `patienceMilliseconds` for a
    /// holder to let go: a server restarted the moment its predecessor exits, or a child process
    /// forked between that predecessor's close and its exec, holds the lock for an instant only.
    package init(path: String, patienceMilliseconds: Int = 1_000) throws(Failure) {
        let fd: CInt
        var writable = true
        do throws(SystemCallError) {
            fd = try Posix.open(path, flags: O_RDWR | O_CREAT)
        } catch where error.errno == .readOnlyFileSystem || error.errno == .permissionDenied {
            // A directory that cannot be written is still served (read-only, writes refused): lock
            // the file if it is there; a lock on a read-only descriptor excludes writers all the same.
            writable = false
            do throws(SystemCallError) {
                fd = try Posix.open(path, flags: O_RDONLY)
            } catch let readError where readError.errno == .noSuchFile {
                // Not there and cannot be made (a directory written by an older version): lock the
                // directory itself, which at least keeps two such servers apart.
                do throws(SystemCallError) {
                    fd = try Posix.open(Files.directoryName(of: path), flags: O_RDONLY | O_DIRECTORY)
                } catch let directoryError {
                    throw .system(directoryError)
                }
            } catch let readError {
                throw .system(readError)
            }
        } catch {
            throw .system(error)
        }
        let owned = FileDescriptor(taking: fd)
        var waited = 0
        while CGlue.beacon_flock(fd, BEACON_LOCK_EX | BEACON_LOCK_NB) != 0, errno == EWOULDBLOCK, waited < patienceMilliseconds {
            Posix.sleep(milliseconds: 10)
            waited += 10
        }
        if CGlue.beacon_flock(fd, BEACON_LOCK_EX | BEACON_LOCK_NB) != 0 {
            let code = errno
            guard code == EWOULDBLOCK else { throw .system(SystemCallError(call: "flock \(path)", errno: Errno(rawValue: code))) }
            var bytes = [UInt8](repeating: 0, count: 32)
            let count = bytes.withUnsafeMutableBytes { Glibc.pread(fd, $0.baseAddress, $0.count, 0) }
            let text = count > 0 ? String(decoding: bytes[0..<count], as: UTF8.self) : ""
            throw .held(byProcess: Int32(text.split(whereSeparator: { $0 == "\n" || $0 == " " }).first ?? ""))
        }
        if writable {
            let pid = Array("\(getpid())\n".utf8)
            _ = Glibc.ftruncate(fd, 0)
            _ = pid.withUnsafeBytes { Glibc.pwrite(fd, $0.baseAddress, $0.count, 0) }
        }
        descriptor = owned
        self.path = path
    }
}
