/// A bad configuration value or file: names the key (and the file line when there is one).
struct ConfigError: Error, CustomStringConvertible {
    /// The kind of problem.
    enum Code: UInt16 {
        /// The file cannot be read.
        case unreadable = 1
        /// A line is not `key = value`.
        case syntax = 2
        /// The key is not one `kamino serve` knows.
        case unknownKey = 3
        /// The value does not fit the key.
        case badValue = 4
    }
    let code: Code
    let message: String

    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    var description: String { message }
}

/// A strict subset of TOML for `config/kamino.toml`: `key = "string"` or `key = integer`
/// lines, `#` comments and blank lines. Anything else (tables, arrays, duplicate keys) is
/// an error naming the file and line.
enum ConfigFile {
    /// One value as written in the file.
    enum Value: Equatable {
        case string(String)
        case integer(Int)
    }

    /// An entry with where it came from (for error messages).
    struct Entry {
        let value: Value
        let line: Int
    }

    /// Parses `text` (read from `path`, used in messages).
    static func parse(_ text: String, path: String) throws(ConfigError) -> [String: Entry] {
        var entries: [String: Entry] = [:]
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            let line = stripComment(String(raw)).trimmed
            if line.isEmpty { continue }
            guard let eq = line.firstIndex(of: "=") else {
                throw ConfigError(.syntax, "\(path):\(number): expected `key = value`, found `\(line)`")
            }
            let key = String(line[..<eq]).trimmed
            let rest = String(line[line.index(after: eq)...]).trimmed
            guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
                throw ConfigError(.syntax, "\(path):\(number): `\(key)` is not a bare key")
            }
            guard entries[key] == nil else {
                throw ConfigError(.syntax, "\(path):\(number): key `\(key)` is set twice")
            }
            entries[key] = Entry(value: try value(rest, key: key, at: "\(path):\(number)"), line: number)
        }
        return entries
    }

    private static func value(_ text: String, key: String, at place: String) throws(ConfigError) -> Value {
        if text.count >= 2, text.hasPrefix("\""), text.hasSuffix("\"") {
            let inner = String(text.dropFirst().dropLast())
            guard !inner.contains("\""), !inner.contains("\\") else {
                throw ConfigError(.syntax, "\(place): `\(key)`: escapes and inner quotes are not supported")
            }
            return .string(inner)
        }
        if let n = Int(text.replacingUnderscores) { return .integer(n) }
        throw ConfigError(.syntax, "\(place): `\(key)`: expected a \"quoted string\" or an integer, found `\(text)`")
    }

    /// Drops a `#` comment that is not inside a string.
    private static func stripComment(_ line: String) -> String {
        var inString = false
        var out = ""
        for c in line {
            if c == "\"" { inString.toggle() }
            if c == "#" && !inString { break }
            out.append(c)
        }
        return out
    }
}

extension String {
    /// The string without leading and trailing spaces and tabs (and a CR).
    var trimmed: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\r" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s = s.dropLast() }
        return String(s)
    }

    fileprivate var replacingUnderscores: String { String(filter { $0 != "_" }) }
}
