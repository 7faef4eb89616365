// swift-tools-version:6.0
// Beacon: a DNS-style service-discovery resolver. No package dependencies: toolchain only.
//
// Dependencies point one way, from the executable down to the pure wire code:
//   beacon → BeaconCLI → BeaconRuntime → {DNSServer, HTTPControl, Journal, EtcdStore} → {Authority, Leases, HTTPWire, PosixIO}
//   EtcdStore → Clients (its blocking HTTP client)
//   Authority → {ZoneFile, Leases} → DNSWire
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
        .target(name: "DNSWire", swiftSettings: strict),
        .target(name: "ZoneFile", dependencies: ["DNSWire"], swiftSettings: strict),
        .target(name: "Leases", dependencies: ["DNSWire"], swiftSettings: strict),
        .target(name: "Authority", dependencies: ["DNSWire", "ZoneFile", "Leases"], swiftSettings: strict),
        .target(name: "HTTPWire", swiftSettings: strict),

        // The one syscall layer.
        .target(name: "PosixIO", dependencies: ["CGlue"], swiftSettings: strict),

        // I/O layers.
        .target(name: "DNSServer", dependencies: ["DNSWire", "Authority", "Leases", "PosixIO"], swiftSettings: strict),
        .target(name: "Journal", dependencies: ["Leases", "PosixIO"], swiftSettings: strict),
        .target(
            name: "HTTPControl", dependencies: ["HTTPWire", "Leases", "DNSWire", "PosixIO"], swiftSettings: strict),
        .target(name: "Clients", dependencies: ["DNSWire", "HTTPWire", "PosixIO"], swiftSettings: strict),
        .target(
            name: "EtcdStore", dependencies: ["Leases", "Clients", "HTTPWire", "PosixIO"], swiftSettings: strict),
        .target(
            name: "BeaconRuntime",
            dependencies: ["DNSWire", "ZoneFile", "Leases", "Authority", "PosixIO", "DNSServer", "HTTPWire",
                "HTTPControl", "Journal", "EtcdStore"],
            swiftSettings: strict),
        .target(
            name: "BeaconCLI",
            dependencies: ["BeaconRuntime", "Clients", "DNSWire", "HTTPWire", "Leases", "PosixIO"],
            swiftSettings: strict),
        .executableTarget(name: "beacon", dependencies: ["BeaconCLI"], swiftSettings: strict),

        // Test-only helpers. The allocation counter interposes malloc, so only test binaries link it.
        .target(name: "CAllocationCounter"),
        .target(name: "TestSupport", dependencies: ["DNSWire", "Leases", "PosixIO"], swiftSettings: strict),

        .testTarget(
            name: "DNSWireTests", dependencies: ["DNSWire", "TestSupport"], exclude: ["Corpus"], swiftSettings: strict),
        .testTarget(
            name: "ZoneFileTests", dependencies: ["ZoneFile", "DNSWire", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "LeasesTests", dependencies: ["Leases", "DNSWire", "TestSupport"], swiftSettings: strict),
        .testTarget(
            name: "AuthorityTests",
            dependencies: ["Authority", "ZoneFile", "Leases", "DNSWire", "TestSupport", "CAllocationCounter"],
            swiftSettings: strict),
        .testTarget(name: "HTTPWireTests", dependencies: ["HTTPWire", "TestSupport"], swiftSettings: strict),
        .testTarget(
            name: "EtcdStoreTests", dependencies: ["EtcdStore", "Leases", "HTTPWire", "PosixIO", "TestSupport"],
            swiftSettings: strict),
        .testTarget(name: "PosixIOTests", dependencies: ["PosixIO", "TestSupport"], swiftSettings: strict),
        .testTarget(
            name: "ServerTests",
            dependencies: ["BeaconRuntime", "BeaconCLI", "Clients", "DNSServer", "HTTPControl", "Journal", "DNSWire",
                "HTTPWire", "Leases", "PosixIO", "TestSupport"],
            swiftSettings: strict),
    ]
)
