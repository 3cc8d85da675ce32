/// A parsed JSON value of a token's header or claims, or of a JWKS file (no Foundation).
///
/// Strict where it matters for tokens: one value and nothing after it, depth at most 16,
/// no duplicate keys in an object (two `exp` claims could be read differently by two
/// parsers), numbers kept as text until a claim reads them.
package enum AuthJSON: Sendable, Hashable {
    case object([String: AuthJSON])
    case array([AuthJSON])
    case string(String)
    /// A number, as written.
    case number(String)
    case bool(Bool)
    case null

    /// The deepest nesting accepted.
    package static let maxDepth = 16

    /// The value of `key` in an object, nil otherwise.
    package subscript(key: String) -> AuthJSON? {
        guard case .object(let fields) = self else { return nil }
        return fields[key]
    }

    /// The string, when this is one.
    package var string: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// A NumericDate (RFC 7519): seconds since the epoch, fractions dropped; nil for
    /// anything else, including numbers beyond ±2^53.
    package var seconds: Int64? {
        guard case .number(let text) = self else { return nil }
        if let whole = Int64(text) { return whole }
        guard let value = Double(text), value.isFinite, abs(value) < 9.0e15 else { return nil }
        return Int64(value.rounded(.down))
    }

    /// Parses `bytes`; nil when they are not exactly one JSON value.
    package static func parse<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> AuthJSON? {
        var parser = Parser(bytes: Array(bytes))
        guard let value = parser.value(depth: 0) else { return nil }
        parser.skipSpace()
        return parser.index == parser.bytes.count ? value : nil
    }

    private struct Parser {
        let bytes: [UInt8]
        var index = 0

        mutating func skipSpace() {
            while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x09 || bytes[index] == 0x0A || bytes[index] == 0x0D {
                index += 1
            }
        }

        mutating func value(depth: Int) -> AuthJSON? {
            guard depth < AuthJSON.maxDepth else { return nil }
            skipSpace()
            guard index < bytes.count else { return nil }
            switch bytes[index] {
            case UInt8(ascii: "{"):
                index += 1
                var fields: [String: AuthJSON] = [:]
                if consume("}") { return .object(fields) }
                while true {
                    skipSpace()
                    guard let key = string(), consume(":"), let v = value(depth: depth + 1) else { return nil }
                    guard fields.updateValue(v, forKey: key) == nil else { return nil }  // duplicate key
                    if consume(",") { continue }
                    return consume("}") ? .object(fields) : nil
                }
            case UInt8(ascii: "["):
                index += 1
                var items: [AuthJSON] = []
                if consume("]") { return .array(items) }
                while true {
                    guard let v = value(depth: depth + 1) else { return nil }
                    items.append(v)
                    if consume(",") { continue }
                    return consume("]") ? .array(items) : nil
                }
            case UInt8(ascii: "\""):
                return string().map(AuthJSON.string)
            case UInt8(ascii: "t"): return literal("true", .bool(true))
            case UInt8(ascii: "f"): return literal("false", .bool(false))
            case UInt8(ascii: "n"): return literal("null", .null)
            default:
                return number()
            }
        }

        /// A number per the JSON grammar: -?int frac? exp?.
        mutating func number() -> AuthJSON? {
            let start = index
            func digits() -> Int {
                let from = index
                while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 { index += 1 }
                return index - from
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
            let intStart = index
            guard digits() > 0 else { return nil }
            if bytes[intStart] == 0x30 && index - intStart > 1 { return nil }  // no leading zeros
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                index += 1
                guard digits() > 0 else { return nil }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
                guard digits() > 0 else { return nil }
            }
            return .number(String(decoding: bytes[start..<index], as: UTF8.self))
        }

        mutating func consume(_ ascii: Unicode.Scalar) -> Bool {
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ascii) else { return false }
            index += 1
            return true
        }

        mutating func literal(_ word: StaticString, _ value: AuthJSON) -> AuthJSON? {
            let count = word.utf8CodeUnitCount
            guard index + count <= bytes.count else { return nil }
            let matches = word.withUTF8Buffer { w in (0..<count).allSatisfy { bytes[index + $0] == w[$0] } }
            guard matches else { return nil }
            index += count
            return value
        }

        /// Four hex digits at `index`.
        mutating func hex4() -> UInt32? {
            guard index + 4 <= bytes.count else { return nil }
            var code: UInt32 = 0
            for byte in bytes[index..<index + 4] {
                let digit: UInt32
                switch byte {
                case 0x30...0x39: digit = UInt32(byte - 0x30)
                case 0x41...0x46: digit = UInt32(byte - 0x41 + 10)
                case 0x61...0x66: digit = UInt32(byte - 0x61 + 10)
                default: return nil
                }
                code = code << 4 | digit
            }
            index += 4
            return code
        }

        /// A string literal at `index`, escapes decoded; nil for control characters,
        /// bad escapes, lone surrogates or invalid UTF-8.
        mutating func string() -> String? {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
            index += 1
            var out: [UInt8] = []
            while index < bytes.count {
                let b = bytes[index]
                index += 1
                switch b {
                case UInt8(ascii: "\""):
                    return String(validating: out, as: UTF8.self)
                case 0x00..<0x20:
                    return nil
                case UInt8(ascii: "\\"):
                    guard index < bytes.count else { return nil }
                    let e = bytes[index]
                    index += 1
                    switch e {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "u"):
                        guard var code = hex4() else { return nil }
                        if (0xD800..<0xDC00).contains(code) {
                            guard consumeRaw("\\"), consumeRaw("u"), let low = hex4(), (0xDC00..<0xE000).contains(low) else {
                                return nil
                            }
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        }
                        guard let scalar = Unicode.Scalar(code) else { return nil }
                        out.append(contentsOf: Array(String(Character(scalar)).utf8))
                    default: return nil
                    }
                default:
                    out.append(b)
                }
            }
            return nil
        }

        mutating func consumeRaw(_ ascii: Unicode.Scalar) -> Bool {
            guard index < bytes.count, bytes[index] == UInt8(ascii: ascii) else { return false }
            index += 1
            return true
        }
    }
}
