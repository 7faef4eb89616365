/// What this binary is: `beacon --version`, `/healthz`, the status page and `beacon_build_info`.
package enum BuildInfo {
    /// Raised with every release that changes what users see.
    package static let version = "0.4.0"
    /// The git commit the build comes from (stamped by the VersionStamp plugin), "unknown" outside a
    /// checkout, with "-dirty" for uncommitted changes.
    package static let commit = buildCommit

    package static var versionLine: String { "beacon \(version) (commit \(commit))" }
}
