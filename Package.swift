// swift-tools-version:6.0
// Beacon: a DNS-style service-discovery resolver. No package dependencies: toolchain only.
//
// Dependencies point one way, from the executable down to the pure wire code:
//   beacon → BeaconCLI → BeaconRuntime → {DNSServer, HTTPControl, Journal, EtcdStore} → {Authority, Leases, HTTPWire, PosixIO}
//   EtcdStore → Clients (its blocking HTTP client)
//   Authority → {ZoneFile, Leases} → DNSWire → Primitives (IP addresses, locks: depends on nothing)
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "Beacon",
    products: [
        .executable(name: "beacon", targets: ["beacon"])
    ],
    targets: [
        // Declarations only (GNU socket and epoll APIs Glibc does not export to Swift).
        .systemLibrary(name: "CGlue", path: "Sources/CGlue"),

        // Pure layers: stdlib (and Synchronization) only.
        .target(name: "Primitives", swiftSettings: strict),
        .target(name: "DNSWire", dependencies: ["Primitives"], swiftSettings: strict),
        .target(name: "ZoneFile", dependencies: ["DNSWire"], swiftSettings: strict),
        .target(name: "Leases", dependencies: ["DNSWire", "Primitives"], swiftSettings: strict),
        .target(name: "Authority", dependencies: ["DNSWire", "ZoneFile", "Leases", "Primitives"], swiftSettings: strict),
        .target(name: "HTTPWire", swiftSettings: strict),

        // The one syscall layer.
        .target(name: "PosixIO", dependencies: ["CGlue", "Primitives"], swiftSettings: strict),

        // TLS on the system's OpenSSL 3, loaded with dlopen only when a TLS flag asks for it.
        .target(name: "TLS", dependencies: ["PosixIO", "Primitives"], swiftSettings: strict),

        // I/O layers.
        .target(name: "DNSServer", dependencies: ["DNSWire", "Authority", "Leases", "PosixIO", "Primitives"], swiftSettings: strict),
        .target(name: "Journal", dependencies: ["Leases", "PosixIO", "Primitives"], swiftSettings: strict),
        // StatusPage/ holds the status page's files; StatusPage+Files.generated.swift embeds them.
        .target(
            name: "HTTPControl", dependencies: ["HTTPWire", "Leases", "DNSWire", "PosixIO", "Primitives"],
            exclude: ["StatusPage"], swiftSettings: strict),
        .target(name: "Clients", dependencies: ["DNSWire", "HTTPWire", "PosixIO", "TLS"], swiftSettings: strict),
        .target(
            name: "EtcdStore", dependencies: ["Leases", "Clients", "HTTPWire", "PosixIO", "Primitives", "TLS"],
            swiftSettings: strict),
        // Writes the git commit of the build into BeaconRuntime (`beacon --version`, `beacon_build_info`).
        .plugin(name: "VersionStamp", capability: .buildTool(), path: "Sources/VersionStamp"),
        .target(
            name: "BeaconRuntime",
            dependencies: ["DNSWire", "ZoneFile", "Leases", "Authority", "PosixIO", "DNSServer", "HTTPWire",
                "HTTPControl", "Journal", "EtcdStore", "Primitives", "TLS"],
            swiftSettings: strict, plugins: ["VersionStamp"]),
        .target(
            name: "BeaconCLI",
            dependencies: ["BeaconRuntime", "Clients", "DNSWire", "HTTPWire", "Leases", "PosixIO", "Primitives", "TLS"],
            swiftSettings: strict),
        .executableTarget(name: "beacon", dependencies: ["BeaconCLI"], swiftSettings: strict),

        // Fuzz entry points as library functions: the libFuzzer executables and the corpus-replay
        // tests call the same code; no production module carries any of it.
        .target(
            name: "FuzzSupport",
            dependencies: ["DNSWire", "ZoneFile", "Leases", "Authority", "HTTPWire", "HTTPControl", "Primitives"],
            swiftSettings: strict),
        // libFuzzer targets (Tests/Fuzz/run-fuzzers.sh); a plain build replays files instead.
        .executableTarget(name: "FuzzMessage", dependencies: ["FuzzSupport", "PosixIO"], path: "Tests/Fuzz/FuzzMessage"),
        .executableTarget(name: "FuzzZoneFile", dependencies: ["FuzzSupport", "PosixIO"], path: "Tests/Fuzz/FuzzZoneFile"),
        .executableTarget(
            name: "FuzzHTTPRequest", dependencies: ["FuzzSupport", "PosixIO"], path: "Tests/Fuzz/FuzzHTTPRequest"),
        .executableTarget(
            name: "FuzzRegistrationBody", dependencies: ["FuzzSupport", "PosixIO"], path: "Tests/Fuzz/FuzzRegistrationBody"),
        .executableTarget(
            name: "FuzzResponder", dependencies: ["FuzzSupport", "PosixIO"], path: "Tests/Fuzz/FuzzResponder"),

        // Test-only helpers. The allocation counter interposes malloc, so only test binaries link it.
        .target(name: "CAllocationCounter"),
        .target(name: "TestSupport", dependencies: ["DNSWire", "Leases", "PosixIO", "Primitives"], swiftSettings: strict),

        .testTarget(
            name: "DNSWireTests", dependencies: ["DNSWire", "TestSupport", "Primitives", "FuzzSupport"], exclude: ["Corpus"],
            swiftSettings: strict),
        .testTarget(
            name: "ZoneFileTests", dependencies: ["ZoneFile", "DNSWire", "TestSupport", "Primitives"],
            swiftSettings: strict),
        .testTarget(
            name: "LeasesTests", dependencies: ["Leases", "DNSWire", "TestSupport", "Primitives"], swiftSettings: strict),
        .testTarget(
            name: "AuthorityTests",
            dependencies: ["Authority", "ZoneFile", "Leases", "DNSWire", "TestSupport", "CAllocationCounter"],
            swiftSettings: strict),
        .testTarget(name: "HTTPWireTests", dependencies: ["HTTPWire", "TestSupport", "FuzzSupport"], swiftSettings: strict),
        .testTarget(
            name: "EtcdStoreTests",
            dependencies: ["EtcdStore", "Leases", "HTTPWire", "PosixIO", "TestSupport", "Primitives"],
            swiftSettings: strict),
        .testTarget(name: "TLSTests", dependencies: ["TLS", "PosixIO", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "PosixIOTests", dependencies: ["PosixIO", "TestSupport", "Primitives", "CGlue"], swiftSettings: strict),
        .testTarget(
            name: "JournalTests", dependencies: ["Journal", "Leases", "PosixIO", "TestSupport", "Primitives"], swiftSettings: strict),
        .testTarget(
            name: "ServerTests",
            dependencies: ["BeaconRuntime", "BeaconCLI", "Clients", "DNSServer", "HTTPControl", "Journal", "DNSWire", "Primitives",
                "HTTPWire", "Leases", "PosixIO", "TestSupport", "FuzzSupport", "TLS"],
            exclude: ["Fixtures"],
            swiftSettings: strict),
    ]
)
