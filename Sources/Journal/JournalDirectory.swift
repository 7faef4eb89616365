import PosixIO

/// The names of the files in a data directory, and what a listing of it holds.
///
/// Journals carry their generation in the name, as 16 hex digits so that names sort in order:
/// `journal-0000000000000003.log`. Anything the journal does not recognise (a `.corrupt-` file
/// moved aside, an operator's notes) is left alone.
struct JournalDirectory: Sendable {
    let path: String

    static let snapshotName = "snapshot"
    static let temporarySnapshotName = "snapshot.tmp"
    private static let journalPrefix = "journal-"
    private static let journalSuffix = ".log"

    var snapshotPath: String { "\(path)/\(Self.snapshotName)" }
    /// Locked by the running server (`FileLock`): one server per data directory.
    var lockPath: String { "\(path)/lock" }
    var temporarySnapshotPath: String { "\(path)/\(Self.temporarySnapshotName)" }

    func journalPath(_ generation: UInt64) -> String { "\(path)/\(Self.journalName(generation))" }

    static func journalName(_ generation: UInt64) -> String {
        let digits = String(generation, radix: 16)
        return journalPrefix + String(repeating: "0", count: max(0, 16 - digits.count)) + digits + journalSuffix
    }

    /// The generation in a journal file name, or nil for any other name.
    static func generation(ofJournalNamed name: String) -> UInt64? {
        guard name.hasPrefix(journalPrefix), name.hasSuffix(journalSuffix) else { return nil }
        let digits = name.dropFirst(journalPrefix.count).dropLast(journalSuffix.count)
        guard digits.count == 16 else { return nil }
        return UInt64(digits, radix: 16)
    }

    struct Listing {
        /// Journal generations, ascending.
        var journals: [UInt64] = []
        var hasSnapshot = false
        var hasTemporarySnapshot = false
    }

    func list() throws(SystemCallError) -> Listing {
        var listing = Listing()
        for name in try Files.list(path) {
            if name == Self.snapshotName {
                listing.hasSnapshot = true
            } else if name == Self.temporarySnapshotName {
                listing.hasTemporarySnapshot = true
            } else if let generation = Self.generation(ofJournalNamed: name) {
                listing.journals.append(generation)
            }
        }
        listing.journals.sort()
        return listing
    }

    /// A name to move a damaged file aside to: `<name>.corrupt-<unix seconds>`, made unique.
    func corruptPath(for file: String) -> String {
        let stamp = "\(file).corrupt-\(Int(Posix.wallClockSeconds()))"
        var candidate = stamp
        var suffix = 1
        while Files.exists(candidate) {
            candidate = "\(stamp)-\(suffix)"
            suffix += 1
        }
        return candidate
    }
}
