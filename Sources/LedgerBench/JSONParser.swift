/// Reads JSON text into a `JSONValue` (no Foundation): the bench reads its own `--json`
/// documents back for `--compare`. Numbers without a fraction or exponent that fit an
/// `Int` become `.int`, the others `.double`.
extension JSONValue {
    /// Parses `text`; nil when it is not one JSON value.
    package static func parse(_ text: String) -> JSONValue? {
        var parser = JSONParser(bytes: Array(text.utf8))
        guard let value = parser.value(depth: 0) else { return nil }
        parser.skipSpace()
        return parser.index == parser.bytes.count ? value : nil
    }

    /// The value of `key` in an object.
    package subscript(key: String) -> JSONValue? {
        guard case .object(let fields) = self else { return nil }
        return fields.first { $0.0 == key }?.1
    }

    /// A number as a Double (ints too); nil otherwise.
    package var number: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }

    /// A string's text; nil otherwise.
    package var text: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// An object's fields in order; empty otherwise.
    package var fields: [(String, JSONValue)] {
        if case .object(let f) = self { return f }
        return []
    }
}

/// A recursive-descent JSON reader over UTF-8 bytes, nesting at most 64 deep.
private struct JSONParser {
    let bytes: [UInt8]
    var index = 0

    mutating func skipSpace() {
        while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
    }

    private mutating func consume(_ literal: String) -> Bool {
        let l = Array(literal.utf8)
        guard index + l.count <= bytes.count, Array(bytes[index..<index + l.count]) == l else { return false }
        index += l.count
        return true
    }

    mutating func value(depth: Int) -> JSONValue? {
        guard depth < 64 else { return nil }
        skipSpace()
        guard index < bytes.count else { return nil }
        switch bytes[index] {
        case UInt8(ascii: "{"):
            index += 1
            var fields: [(String, JSONValue)] = []
            skipSpace()
            if consume("}") { return .object(fields) }
            while true {
                skipSpace()
                guard let key = string() else { return nil }
                skipSpace()
                guard consume(":"), let v = value(depth: depth + 1) else { return nil }
                fields.append((key, v))
                skipSpace()
                if consume(",") { continue }
                return consume("}") ? .object(fields) : nil
            }
        case UInt8(ascii: "["):
            index += 1
            var items: [JSONValue] = []
            skipSpace()
            if consume("]") { return .array(items) }
            while true {
                guard let v = value(depth: depth + 1) else { return nil }
                items.append(v)
                skipSpace()
                if consume(",") { continue }
                return consume("]") ? .array(items) : nil
            }
        case UInt8(ascii: "\""):
            return string().map { .string($0) }
        case UInt8(ascii: "t"):
            return consume("true") ? .bool(true) : nil
        case UInt8(ascii: "f"):
            return consume("false") ? .bool(false) : nil
        case UInt8(ascii: "n"):
            return consume("null") ? .null : nil
        default:
            return number()
        }
    }

    private mutating func number() -> JSONValue? {
        let start = index
        var integral = true
        while index < bytes.count {
            let b = bytes[index]
            if (b >= 0x30 && b <= 0x39) || b == UInt8(ascii: "-") || b == UInt8(ascii: "+") {
                index += 1
            } else if b == UInt8(ascii: ".") || b == UInt8(ascii: "e") || b == UInt8(ascii: "E") {
                integral = false
                index += 1
            } else {
                break
            }
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        if integral, let i = Int(text) { return .int(i) }
        guard let d = Double(text), d.isFinite else { return nil }
        return .double(d)
    }

    /// A string literal at `index` (escapes decoded, `\u` surrogate pairs joined).
    private mutating func string() -> String? {
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
        index += 1
        var out = String.UnicodeScalarView()
        var raw: [UInt8] = []
        func flush() {
            out.append(contentsOf: String(decoding: raw, as: UTF8.self).unicodeScalars)
            raw.removeAll()
        }
        while index < bytes.count {
            let b = bytes[index]
            index += 1
            switch b {
            case UInt8(ascii: "\""):
                flush()
                return String(out)
            case UInt8(ascii: "\\"):
                flush()
                guard index < bytes.count else { return nil }
                let e = bytes[index]
                index += 1
                switch e {
                case UInt8(ascii: "n"): out.append("\n")
                case UInt8(ascii: "t"): out.append("\t")
                case UInt8(ascii: "r"): out.append("\r")
                case UInt8(ascii: "b"): out.append("\u{08}")
                case UInt8(ascii: "f"): out.append("\u{0C}")
                case UInt8(ascii: "u"):
                    guard var code = hex4() else { return nil }
                    if (0xD800..<0xDC00).contains(code), consume("\\u"), let low = hex4(), (0xDC00..<0xE000).contains(low) {
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    out.append(Unicode.Scalar(code) ?? "\u{FFFD}")
                default: out.append(Unicode.Scalar(e))
                }
            default:
                raw.append(b)
            }
        }
        return nil
    }

    private mutating func hex4() -> UInt32? {
        guard index + 4 <= bytes.count, let v = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16)
        else { return nil }
        index += 4
        return v
    }
}
