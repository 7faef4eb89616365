import Glibc

/// A shared library loaded at run time (`dlopen`), for an optional system library that the build
/// must not need (OpenSSL): no headers or link flag at build time, and nothing mapped into the
/// process until a feature asks for it.
///
/// Never closed: function pointers taken from it stay valid for the life of the process.
package final class DynamicLibrary: @unchecked Sendable {
    // The handle is only read after `init`; dlsym is thread-safe.
    private let handle: UnsafeMutableRawPointer
    /// The name it was opened by (`libssl.so.3` or a path).
    package let name: String

    /// Opens `name` as `dlopen` searches for it (a bare name goes through the loader's search path).
    /// - Throws: `dlerror()`'s explanation (the library is missing, or not loadable here).
    package init(opening name: String) throws(DynamicLibraryError) {
        // RTLD_LOCAL: its symbols resolve only through this handle, never instead of anyone else's.
        guard let handle = dlopen(name, RTLD_NOW | RTLD_LOCAL) else {
            throw DynamicLibraryError(message: Self.lastError() ?? "\(name): cannot be loaded")
        }
        self.handle = handle
        self.name = name
    }

    /// The address of `symbol` in this library or those it depends on, or nil.
    package func address(of symbol: String) -> UnsafeMutableRawPointer? {
        dlsym(handle, symbol)
    }

    private static func lastError() -> String? {
        guard let text = dlerror() else { return nil }
        return String(cString: text)
    }

    /// Whether a library whose file name contains `fragment` is mapped into this process now
    /// (from `/proc/self/maps`): how a test shows that a feature left a library unloaded.
    package static func isMapped(_ fragment: String, processID: Int32? = nil) -> Bool {
        let path = processID.map { "/proc/\($0)/maps" } ?? "/proc/self/maps"
        guard let bytes = try? Files.read(path) else { return false }
        return String(decoding: bytes, as: UTF8.self).contains(fragment)
    }
}

package struct DynamicLibraryError: Error, Sendable, CustomStringConvertible {
    package var message: String
    package var description: String { message }
}
