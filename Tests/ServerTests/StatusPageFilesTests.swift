import HTTPControl
import PosixIO
import Testing

/// The status page's files (`Sources/HTTPControl/StatusPage/`) and the Swift file that embeds them,
/// `StatusPage+Files.generated.swift`: committed, generated here, and checked to be current (as
/// miekg/dns commits `zmsg.go`, which `msg_generate.go` writes).
///
/// After editing `index.html`, `style.css`, `lib.js` or `app.js`:
///
///     BEACON_REGENERATE=1 swift test --filter StatusPageFiles
///
/// rewrites the generated file (and skips the check on the constants compiled before it changed);
/// a plain `swift test` then passes. Without the variable a stale file fails the suite.
@Suite("Status page files")
struct StatusPageFilesTests {
    static let directory = RunningBeacon.repositoryRoot + "/Sources/HTTPControl/StatusPage"
    static let generatedPath = RunningBeacon.repositoryRoot + "/Sources/HTTPControl/StatusPage+Files.generated.swift"
    static let regenerating = Posix.environment()["BEACON_REGENERATE"] == "1"

    /// Each file and the constant that holds it, in the generated file's order.
    static let files: [(file: String, constant: String, summary: String)] = [
        ("index.html", "indexHTML", "The page at `/` and `/ui`; `StatusPage.html` fills in its `{{...}}`."),
        ("style.css", "styleCSS", "Served at `/ui/style.css`."),
        ("lib.js", "libJS", "Served at `/ui/lib.js`: what `app.js` builds on."),
        ("app.js", "appJS", "Served at `/ui/app.js`."),
    ]

    static func read(_ path: String) throws -> String {
        String(decoding: try Files.read(path), as: UTF8.self)
    }

    @Test func generatedFileIsCurrent() throws {
        let contents = try Self.files.map { try Self.read(Self.directory + "/" + $0.file) }
        for (file, text) in zip(Self.files, contents) {
            // A Swift string literal turns CR LF into LF, so the constant would not be the file.
            #expect(!text.utf8.contains(13), "\(file.file) has a carriage return: use LF line ends")
        }
        let expected = Self.generate(contents)
        let committed = Files.exists(Self.generatedPath) ? try Self.read(Self.generatedPath) : ""
        guard committed != expected else { return }
        if Self.regenerating {
            try Files.writeAtomically(Self.generatedPath, Array(expected.utf8))
            print("StatusPageFilesTests: rewrote \(Self.generatedPath); build again to use it")
        } else {
            Issue.record(
                """
                StatusPage+Files.generated.swift is stale: it does not match Sources/HTTPControl/StatusPage/. \
                Regenerate it with `BEACON_REGENERATE=1 swift test --filter StatusPageFiles` and commit it.
                """)
        }
    }

    /// What the server serves is the files byte for byte (the literals decode to exactly them).
    @Test(.disabled(if: regenerating, "the constants were compiled before the file was regenerated"))
    func embeddedConstantsAreTheFiles() throws {
        let embedded = [StatusPage.indexHTML, StatusPage.styleCSS, StatusPage.libJS, StatusPage.appJS]
        for (file, constant) in zip(Self.files, embedded) {
            let same = Array(constant.utf8) == (try Files.read(Self.directory + "/" + file.file))
            #expect(same, "StatusPage.\(file.constant) is not \(file.file): regenerate, then build again")
        }
        #expect(StatusPage.assets["app.js"]?.body == Array(StatusPage.appJS.utf8))
        #expect(StatusPage.assets["lib.js"]?.body == Array(StatusPage.libJS.utf8))
        #expect(StatusPage.assets["style.css"]?.body == Array(StatusPage.styleCSS.utf8))
    }

    @Test func literalsHoldAnyTextExactly() {
        // The delimiter grows past whatever the text contains that could end the literal or escape.
        #expect(Self.literal("a\n") == "#\"\"\"\na\n\n\"\"\"#")
        #expect(Self.literal("x = \"\\(y)\" + \"\"\"#").hasPrefix("##\"\"\"\n"))
        #expect(Self.literal("\\#(y) \\##(z)").hasPrefix("###\"\"\"\n"))
    }

    // MARK: - The generator

    /// The generated file for the files' `contents`, in `files` order.
    static func generate(_ contents: [String]) -> String {
        var source = """
            // GENERATED FILE: DO NOT EDIT. Made by Tests/ServerTests/StatusPageFilesTests.swift from
            // Sources/HTTPControl/StatusPage/index.html, style.css, lib.js and app.js: edit those, then run
            //
            //     BEACON_REGENERATE=1 swift test --filter StatusPageFiles
            //
            // and commit this file with them. `swift test` fails while this file is stale.
            //
            // Each constant is one file exactly, in a raw string literal whose delimiter the file
            // does not contain (at column 0, so nothing is stripped).

            extension StatusPage {

            """
        for (index, (file, text)) in zip(Self.files, contents).enumerated() {
            if index > 0 { source += "\n" }
            source += "    /// `StatusPage/\(file.file)`. \(file.summary)\n"
            source += "    package static let \(file.constant) = \(literal(text))\n"
        }
        source += "}\n"
        return source
    }

    /// A multi-line raw string literal whose value is `text`: `#"""`, a line break, the text, a line
    /// break, `"""#`, with as many `#` as it takes for the text to hold neither the closing delimiter
    /// nor an escape.
    static func literal(_ text: String) -> String {
        var hashes = "#"
        while text.contains("\"\"\"" + hashes) || text.contains("\\" + hashes) { hashes += "#" }
        return hashes + "\"\"\"\n" + text + "\n\"\"\"" + hashes
    }
}
