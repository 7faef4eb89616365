// libFuzzer target: `Tests/Fuzz/run-fuzzers.sh` builds it with -sanitize=fuzzer and -D FUZZING.
// A normal build gets a main that replays the files named on the command line instead.
import FuzzSupport

#if FUZZING
    @_cdecl("LLVMFuzzerTestOneInput")
    public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
        fuzzRegistrationBody(Array(UnsafeBufferPointer(start: data, count: size)))
        return 0
    }
#else
    import PosixIO

    @main
    struct Replay {
        static func main() {
            for path in CommandLine.arguments.dropFirst() {
                guard let bytes = try? Files.read(path) else { continue }
                fuzzRegistrationBody(bytes)
            }
        }
    }
#endif
