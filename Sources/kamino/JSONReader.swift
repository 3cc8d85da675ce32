/// A parsed JSON value, for reading a node's `status` answer (no Foundation).
enum JSONReader: Equatable {
    case object([(String, JSONReader)])
    case array([JSONReader])
    case string(String)
    /// A number, kept as its text (LSNs are u64 and must not go through a Double).
    case number(String)
    case bool(Bool)
    case null

    static func == (a: JSONReader, b: JSONReader) -> Bool { a.text == b.text }

    /// The value of `key` in an object.
    subscript(key: String) -> JSONReader? {
        guard case .object(let fields) = self else { return nil }
        return fields.first { $0.0 == key }?.1
    }

    /// A scalar as plain text (strings unquoted, `null` as `-`); objects and arrays as JSON.
    var text: String {
        switch self {
        case .string(let s): return s
        case .number(let n): return n
        case .bool(let b): return b ? "true" : "false"
        case .null: return "-"
        case .array(let items): return "[" + items.map(\.text).joined(separator: ",") + "]"
        case .object(let fields): return "{" + fields.map { "\($0.0):\($0.1.text)" }.joined(separator: ",") + "}"
        }
    }

    /// Parses `text`; nil when it is not one JSON value.
    static func parse(_ text: String) -> JSONReader? {
        var parser = Parser(bytes: Array(text.utf8))
        guard let value = parser.value(depth: 0) else { return nil }
        parser.skipSpace()
        return parser.index == parser.bytes.count ? value : nil
    }

    private struct Parser {
        let bytes: [UInt8]
        var index = 0

        mutating func skipSpace() {
            while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        }

        mutating func value(depth: Int) -> JSONReader? {
            guard depth < 32 else { return nil }
            skipSpace()
            guard index < bytes.count else { return nil }
            switch bytes[index] {
            case UInt8(ascii: "{"):
                index += 1
                var fields: [(String, JSONReader)] = []
                skipSpace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "}") { index += 1; return .object(fields) }
                while true {
                    skipSpace()
                    guard let key = string(), consume(":"), let v = value(depth: depth + 1) else { return nil }
                    fields.append((key, v))
                    if consume(",") { continue }
                    return consume("}") ? .object(fields) : nil
                }
            case UInt8(ascii: "["):
                index += 1
                var items: [JSONReader] = []
                skipSpace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1; return .array(items) }
                while true {
                    guard let v = value(depth: depth + 1) else { return nil }
                    items.append(v)
                    if consume(",") { continue }
                    return consume("]") ? .array(items) : nil
                }
            case UInt8(ascii: "\""):
                return string().map(JSONReader.string)
            case UInt8(ascii: "t"): return literal("true", .bool(true))
            case UInt8(ascii: "f"): return literal("false", .bool(false))
            case UInt8(ascii: "n"): return literal("null", .null)
            default:
                let start = index
                while index < bytes.count, "-+.eE0123456789".utf8.contains(bytes[index]) { index += 1 }
                guard index > start else { return nil }
                return .number(String(decoding: bytes[start..<index], as: UTF8.self))
            }
        }

        mutating func consume(_ ch: Character) -> Bool {
            skipSpace()
            guard index < bytes.count, let ascii = ch.asciiValue, bytes[index] == ascii else { return false }
            index += 1
            return true
        }

        mutating func literal(_ word: String, _ value: JSONReader) -> JSONReader? {
            let w = Array(word.utf8)
            guard index + w.count <= bytes.count, Array(bytes[index..<index + w.count]) == w else { return nil }
            index += w.count
            return value
        }

        /// A string literal at `index` (escapes decoded; `\u` outside the BMP pairs kept simple).
        mutating func string() -> String? {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
            index += 1
            var out: [UInt8] = []
            while index < bytes.count {
                let b = bytes[index]
                index += 1
                switch b {
                case UInt8(ascii: "\""):
                    return String(decoding: out, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard index < bytes.count else { return nil }
                    let e = bytes[index]
                    index += 1
                    switch e {
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "u"):
                        guard index + 4 <= bytes.count,
                              let code = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16)
                        else { return nil }
                        index += 4
                        out.append(contentsOf: Array(String(Unicode.Scalar(code).map(Character.init) ?? "\u{FFFD}").utf8))
                    default: out.append(e)
                    }
                default:
                    out.append(b)
                }
            }
            return nil
        }
    }
}
