import TOMLKit

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

/// `config/kamino.toml`, parsed by TOMLKit (toml++): top-level `key = "string"` or
/// `key = integer` entries. Tables, arrays, booleans and other types are errors naming the
/// file and line; so is anything TOML itself refuses.
enum ConfigFile {
    /// One value as written in the file.
    enum Value: Equatable {
        case string(String)
        case integer(Int)

        /// The value as the text a flag or an environment variable would carry.
        var text: String {
            switch self {
            case .string(let s): return s
            case .integer(let n): return String(n)
            }
        }
    }

    /// An entry with where it came from (for error messages).
    struct Entry {
        let value: Value
        let line: Int
    }

    /// Parses `text` (read from `path`, used in messages).
    static func parse(_ text: String, path: String) throws(ConfigError) -> [String: Entry] {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ConfigError(.syntax, "\(path):\(error.source.begin.line): \(error.description)")
        } catch {
            throw ConfigError(.syntax, "\(path): \(error)")
        }
        var entries: [String: Entry] = [:]
        for key in table.keys {
            let line = lineNumber(of: key, in: text)
            guard let raw = table[key] else { continue }
            if let string = raw.string {
                entries[key] = Entry(value: .string(string), line: line)
            } else if let integer = raw.int {
                entries[key] = Entry(value: .integer(integer), line: line)
            } else {
                throw ConfigError(
                    .syntax, "\(path):\(line): `\(key)`: expected a \"quoted string\" or an integer, found a \(raw.type)")
            }
        }
        return entries
    }

    /// The 1-based line where `key` is set (0 when not found as a bare top-level key).
    private static func lineNumber(of key: String, in text: String) -> Int {
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = String(raw).trimmed
            guard line.hasPrefix(key) else { continue }
            let rest = line.dropFirst(key.count).drop { $0 == " " || $0 == "\t" }
            if rest.first == "=" { return index + 1 }
        }
        return 0
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
}
