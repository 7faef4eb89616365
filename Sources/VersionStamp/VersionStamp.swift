// VersionStamp: a build-tool plugin that writes the git commit the build comes from into
// BuildCommit.swift, for `beacon --version` and `beacon_build_info`. Outside a git checkout (a
// source tarball) the commit reads "unknown"; with local changes it ends in "-dirty". The file is
// rewritten only when the text changes, so an unchanged checkout recompiles nothing.
import PackagePlugin

@main
struct VersionStamp: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let output = context.pluginWorkDirectoryURL.appending(path: "BuildCommit.swift")
        let root = context.package.directoryURL.path
        let script = """
            commit=$(git -C '\(root)' rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
            if [ "$commit" != unknown ] && [ -n "$(git -C '\(root)' status --porcelain --untracked-files=no 2>/dev/null | head -1)" ]; then
                commit="$commit-dirty"
            fi
            text="let buildCommit = \\"$commit\\""
            [ "$(cat '\(output.path)' 2>/dev/null)" = "$text" ] || printf '%s\\n' "$text" > '\(output.path)'
            """
        return [
            .prebuildCommand(
                displayName: "Stamping the build commit", executable: .init(filePath: "/bin/sh"), arguments: ["-c", script],
                outputFilesDirectory: context.pluginWorkDirectoryURL)
        ]
    }
}
