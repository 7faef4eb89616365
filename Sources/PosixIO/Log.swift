import CGlue
import Glibc
import Synchronization

/// One line per event on standard error, costing nothing below the threshold: messages are
/// `@autoclosure`s, built only when their level is on.
package final class Log: Sendable {
    package enum Level: Int, Comparable, Sendable, CustomStringConvertible {
        case debug = 0
        case info = 1
        case warning = 2
        case error = 3

        package static func < (lhs: Level, rhs: Level) -> Bool { lhs.rawValue < rhs.rawValue }

        package init?(name: String) {
            switch name.lowercased() {
            case "debug": self = .debug
            case "info": self = .info
            case "warning", "warn": self = .warning
            case "error": self = .error
            default: return nil
            }
        }

        package var description: String {
            switch self {
            case .debug: "debug"
            case .info: "info"
            case .warning: "warning"
            case .error: "error"
            }
        }
    }

    /// How a line is written: `text` for people, `json` (one object per line) for log shippers.
    package enum Format: String, Sendable, CaseIterable {
        case text
        case json
    }

    private let threshold: Atomic<Int>
    package let format: Format
    /// Where lines go; tests capture them.
    private let sink: @Sendable (String) -> Void

    package init(
        level: Level = .info, format: Format = .text,
        sink: @escaping @Sendable (String) -> Void = { Posix.writeStandardError($0) }
    ) {
        threshold = Atomic(level.rawValue)
        self.format = format
        self.sink = sink
    }

    package var level: Level { Level(rawValue: threshold.load(ordering: .relaxed)) ?? .info }

    @inline(__always)
    package func isEnabled(_ level: Level) -> Bool { level.rawValue >= threshold.load(ordering: .relaxed) }

    package func debug(_ message: @autoclosure () -> String) { write(.debug, message) }
    package func info(_ message: @autoclosure () -> String) { write(.info, message) }
    package func warning(_ message: @autoclosure () -> String) { write(.warning, message) }
    package func error(_ message: @autoclosure () -> String) { write(.error, message) }

    private func write(_ level: Level, _ message: () -> String) {
        guard isEnabled(level) else { return }
        switch format {
        case .text:
            sink("\(Self.timestamp()) \(level) \(message())\n")
        case .json:
            sink("{\"time\":\"\(Self.timestamp())\",\"level\":\"\(level)\",\"message\":\(Self.jsonString(message()))}\n")
        }
    }

    /// `text` as a JSON string literal: quotes, backslashes and control characters escaped.
    static func jsonString(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }

    /// UTC time as `2026-11-29T12:34:56.789Z`.
    static func timestamp() -> String {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        var seconds = time.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(time.tv_nsec / 1_000_000), 3))Z"
    }
}
