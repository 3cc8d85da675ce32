import Configuration
import Synchronization

/// The sources of `kamino serve`'s settings as one swift-configuration `ConfigReader`:
/// command-line flags, then `KAMINO_*` environment variables, then the config file, each
/// an `InMemoryProvider` (the file parsed by TOMLKit, `ConfigFile`). An access reporter
/// records which provider answered each key, so every setting can say where it came from.
struct SettingSources {
    /// Where one resolved value came from.
    enum Origin: Equatable {
        case flag
        case environment(String)
        case file(path: String, line: Int)
        case builtIn
    }

    private let reader: ConfigReader
    private let recorder = OriginRecorder()
    private let environmentNames: [String: String]
    private let file: [String: ConfigFile.Entry]
    private let filePath: String

    /// - Parameters:
    ///   - flags: raw flag values by setting key (`snapshot_every`, ...).
    ///   - environmentNames: the environment variable of each setting key.
    init(flags: [String: String], environment: [String: String], environmentNames: [String: String],
         file: [String: ConfigFile.Entry], filePath: String) {
        func values(_ pairs: [String: String]) -> [AbsoluteConfigKey: ConfigValue] {
            var out: [AbsoluteConfigKey: ConfigValue] = [:]
            for (key, value) in pairs { out[AbsoluteConfigKey([key])] = ConfigValue(.string(value), isSecret: false) }
            return out
        }
        var fromEnvironment: [String: String] = [:]
        for (key, name) in environmentNames { if let value = environment[name] { fromEnvironment[key] = value } }
        self.environmentNames = environmentNames
        self.file = file
        self.filePath = filePath
        reader = ConfigReader(
            providers: [
                InMemoryProvider(name: "flags", values: values(flags)),
                InMemoryProvider(name: "environment", values: values(fromEnvironment)),
                InMemoryProvider(name: "file", values: values(file.mapValues(\.value.text))),
            ],
            accessReporter: recorder)
    }

    /// The value of `key` and where it came from, or nil when no source sets it.
    func value(_ key: String) -> (text: String, origin: Origin)? {
        guard let text = reader.string(forKey: ConfigKey([key])) else { return nil }
        // An in-memory provider reports itself as `InMemoryProvider[<name>]`.
        switch recorder.provider(of: key) {
        case let name? where name.hasSuffix("[flags]"): return (text, .flag)
        case let name? where name.hasSuffix("[environment]"): return (text, .environment(environmentNames[key] ?? key))
        case let name? where name.hasSuffix("[file]"): return (text, .file(path: filePath, line: file[key]?.line ?? 0))
        default:
            preconditionFailure("the reader answered \(key) from no known provider")
        }
    }
}

/// Remembers, per key, the first provider that had a value (the one the reader used).
final class OriginRecorder: AccessReporter, Sendable {
    private let origins = Mutex<[String: String]>([:])

    func report(_ event: AccessEvent) {
        let key = event.metadata.key.components.joined(separator: ".")
        for result in event.providerResults {
            if case .success(let lookup) = result.result, lookup.value != nil {
                origins.withLock { $0[key] = result.providerName }
                return
            }
        }
    }

    func provider(of key: String) -> String? { origins.withLock { $0[key] } }
}
