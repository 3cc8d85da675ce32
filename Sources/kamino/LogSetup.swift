import Glibc
import LedgerBench
import Logging

/// How the server writes its log lines (stderr).
enum LogFormat: String, CaseIterable {
    /// swift-log's plain text lines.
    case text
    /// One JSON object per line (`JSONLogHandler`), for log shippers.
    case json
}

/// Installs the process's log handler once, before any logger is made.
func bootstrapLogging(level: Logger.Level, format: LogFormat) {
    LoggingSystem.bootstrap { label in
        var handler: any LogHandler
        switch format {
        case .text: handler = StreamLogHandler.standardError(label: label)
        case .json: handler = JSONLogHandler(label: label)
        }
        handler.logLevel = level
        return handler
    }
}

/// A swift-log handler that writes one JSON object per line to stderr: `ts` (UTC, ISO
/// 8601 with milliseconds), `level`, `logger`, `msg`, then every metadata key as a string.
/// One `write(2)` per line, so lines from several threads never interleave.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    init(label: String) { self.label = label }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var fields = metadata
        if let provided = metadataProvider?.get() { fields.merge(provided) { _, new in new } }
        if let own = event.metadata { fields.merge(own) { _, new in new } }
        var line = "{\"ts\":\"\(Self.timestamp())\",\"level\":\"\(event.level.rawValue)\",\"logger\":"
            + Self.quoted(label) + ",\"msg\":" + Self.quoted("\(event.message)")
        if let error = event.error { line += ",\"error\":" + Self.quoted("\(error)") }
        for key in fields.keys.sorted() {
            guard let value = fields[key] else { continue }
            line += "," + Self.quoted(key) + ":" + Self.quoted("\(value)")
        }
        line += "}\n"
        let bytes = Array(line.utf8)
        bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            var done = 0
            while done < raw.count {
                let n = Glibc.write(2, base + done, raw.count - done)
                if n > 0 { done += n } else if n < 0 && errno == EINTR { continue } else { return }
            }
        }
    }

    /// A JSON string literal of `text` (the bench reports' escaping).
    static func quoted(_ text: String) -> String { JSONValue.quote(text) }

    /// Now as `2026-12-06T22:31:11.123Z`.
    static func timestamp() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var seconds = ts.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let millis = Int(ts.tv_nsec / 1_000_000)
        let ms = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(ms)Z"
    }
}
