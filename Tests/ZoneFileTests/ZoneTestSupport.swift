import Primitives
import DNSWire
import Foundation
import ZoneFile

/// Helpers shared by the ZoneFile suites: parse text, capture the error, build expected records.

/// `$TTL 60` and an SOA for `example.`: two lines, so the records of a test start on line 3.
let zoneHead = "$TTL 60\n@ SOA ns hostmaster 1 2 3 4 5\n"

struct LoaderError: Error, CustomStringConvertible {
    var path: String
    var description: String { "no such file \(path)" }
}

/// Parses `text` as `t.zone` with origin `example.`; `$INCLUDE` reads from `includes`.
func parse(
    _ text: String, fileName: String = "t.zone", origin: String? = "example.", includes: [String: String] = [:]
) throws(ZoneFileError) -> ZoneData {
    try ZoneFileParser.parse(
        Array(text.utf8), fileName: fileName, defaultOrigin: origin.map { try! DomainName($0) },
        loadInclude: { path in
            guard let content = includes[path] else { throw LoaderError(path: path) }
            return Array(content.utf8)
        })
}

/// The error parsing `text` throws, or nil if it parses.
func parseError(
    _ text: String, fileName: String = "t.zone", origin: String? = "example.", includes: [String: String] = [:]
) -> ZoneFileError? {
    do {
        _ = try parse(text, fileName: fileName, origin: origin, includes: includes)
        return nil
    } catch {
        return error
    }
}

/// The records after the SOA of `zoneHead + body`, or nil on error.
func recordsAfterHead(_ body: String, includes: [String: String] = [:]) throws(ZoneFileError) -> [ResourceRecord] {
    Array(try parse(zoneHead + body, includes: includes).records.dropFirst())
}

func name(_ text: String) -> DomainName { try! DomainName(text) }

func record(_ owner: String, _ type: RRType, ttl: UInt32 = 60, _ rdata: RData) -> ResourceRecord {
    ResourceRecord(name: name(owner), type: type, rrClass: .in, ttl: ttl, rdata: rdata)
}

func a(_ owner: String, _ text: String, ttl: UInt32 = 60) -> ResourceRecord {
    record(owner, .a, ttl: ttl, .a(IPv4Address(text)!))
}

// MARK: - Files

/// `Tests/ZoneFileTests/`, found from this source file (fixtures are not SwiftPM resources).
let testsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()

/// The repository's root, two levels above this folder.
let repositoryRoot = testsDirectory.deletingLastPathComponent().deletingLastPathComponent()

func readBytes(_ url: URL) throws -> [UInt8] { Array(try Data(contentsOf: url)) }

/// Parses a file as the server would: origin from the file name, `$INCLUDE` relative to its folder.
func parseFile(_ url: URL) throws -> ZoneData {
    let directory = url.deletingLastPathComponent()
    let stem = url.deletingPathExtension().lastPathComponent
    return try ZoneFileParser.parse(
        try readBytes(url), fileName: url.lastPathComponent, defaultOrigin: try DomainName(stem + "."),
        loadInclude: { path in try readBytes(directory.appendingPathComponent(path)) })
}

// MARK: - A seeded generator

/// SplitMix64: a seeded generator, so a failing fuzz iteration can be replayed.
typealias SeededGenerator = SplitMix64
