import Foundation
import PackagePlugin

/// Writes `BuildCommit.swift` (`let buildCommit = "<short git commit>"`, or "unknown"
/// outside a git checkout) before every build of the target that uses it, so that
/// `kamino --version` and `kamino_build_info` name the commit the binary was built from.
@main
struct KaminoBuildInfo: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        let output = context.pluginWorkDirectoryURL.appending(path: "BuildCommit.swift")
        let package = context.package.directoryURL.path()
        let script = """
            commit=$(git -C '\(package)' rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
            dirty=$(git -C '\(package)' status --porcelain --untracked-files=no 2>/dev/null | head -c1)
            [ -n "$dirty" ] && commit="$commit-dirty"
            text="let buildCommit = \\"$commit\\""
            [ "$(cat '\(output.path())' 2>/dev/null)" = "$text" ] || printf '%s\\n' "$text" > '\(output.path())'
            """
        return [
            .prebuildCommand(
                displayName: "Recording the git commit",
                executable: URL(filePath: "/bin/sh"),
                arguments: ["-c", script],
                outputFilesDirectory: context.pluginWorkDirectoryURL)
        ]
    }
}
