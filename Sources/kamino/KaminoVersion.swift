/// The version `kamino --version` prints and `kamino_build_info` exports.
enum KaminoVersion {
    /// The release this tree is (bumped by hand at a release).
    static let version = "0.4.0"
    /// The git commit the binary was built from, when the build recorded one
    /// (`scripts/run` and `scripts/test` write `BuildCommit.swift`); "unknown" otherwise.
    static let commit = buildCommit
    static var description: String { "kamino \(version) (commit \(commit))" }
}
