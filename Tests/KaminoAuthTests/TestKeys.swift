import Glibc
import KaminoAuth

/// Keys made at test time with the `openssl` command line (RSA 2048 and EC P-256), in a
/// fresh temporary directory, with their public halves as PEM and as a JWKS document.
struct TestKeys {
    let directory: String
    let rsaPrivate: String
    let rsaPublicPath: String
    let ecPrivate: String
    let ecPublicPath: String

    /// Runs `command` with `/bin/sh`; true when it exits 0.
    static func shell(_ command: String) -> Bool { system(command) == 0 }

    static func make() throws -> TestKeys {
        var template = Array("/tmp/kamino-auth-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw TestFailure("mkdtemp failed") }
        let dir = String(cString: made)
        let steps = [
            "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out \(dir)/rsa.pem",
            "openssl pkey -in \(dir)/rsa.pem -pubout -out \(dir)/rsa.pub.pem",
            "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out \(dir)/ec.pem",
            "openssl pkey -in \(dir)/ec.pem -pubout -out \(dir)/ec.pub.pem",
        ]
        for step in steps {
            guard shell(step + " 2>/dev/null") else { throw TestFailure("failed: \(step)") }
        }
        return TestKeys(
            directory: dir, rsaPrivate: try text("\(dir)/rsa.pem"), rsaPublicPath: "\(dir)/rsa.pub.pem",
            ecPrivate: try text("\(dir)/ec.pem"), ecPublicPath: "\(dir)/ec.pub.pem")
    }

    static func text(_ path: String) throws -> String {
        String(decoding: try TokenKeys.readFile(path), as: UTF8.self)
    }

    /// Writes `content` to `name` in the directory; returns the path.
    func write(_ name: String, _ content: String) throws -> String {
        let path = "\(directory)/\(name)"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw TestFailure("cannot write \(path)") }
        defer { close(fd) }
        let bytes = Array(content.utf8)
        guard bytes.withUnsafeBytes({ Glibc.write(fd, $0.baseAddress, $0.count) }) == bytes.count else {
            throw TestFailure("short write \(path)")
        }
        return path
    }

    /// The JWKS of the two public keys (kid `rsa-1` and `ec-1`), built from the modulus,
    /// exponent and coordinates that `openssl pkey -text` prints.
    func jwks() throws -> String {
        let rsa = try opensslText("pkey -pubin -in \(rsaPublicPath) -text -noout")
        let ec = try opensslText("pkey -pubin -in \(ecPublicPath) -text -noout")
        let n = try hexBlock(rsa, after: "Modulus:")
        let trimmedN = n.first == 0 ? Array(n.dropFirst()) : n
        let point = try hexBlock(ec, after: "pub:")
        guard point.count == 65, point[0] == 4 else { throw TestFailure("unexpected EC point") }
        return """
            {"keys":[
             {"kid":"enc-1","kty":"RSA","use":"enc","alg":"RSA-OAEP","n":"\(Base64URL.encode(trimmedN))","e":"AQAB"},
             {"kid":"rsa-1","kty":"RSA","use":"sig","alg":"RS256","n":"\(Base64URL.encode(trimmedN))","e":"AQAB"},
             {"kid":"ec-1","kty":"EC","use":"sig","alg":"ES256","crv":"P-256","x":"\(Base64URL.encode(point[1...32]))","y":"\(Base64URL.encode(point[33...64]))"}
            ]}
            """
    }

    private func opensslText(_ args: String) throws -> String {
        let out = "\(directory)/out.txt"
        guard Self.shell("openssl \(args) > \(out) 2>/dev/null") else { throw TestFailure("openssl \(args)") }
        return try Self.text(out)
    }

    /// The bytes of the `aa:bb:...` hex block that follows the line `label` in `text`.
    private func hexBlock(_ text: String, after label: String) throws -> [UInt8] {
        let lines = text.split(separator: "\n").map { String($0).trimmed }
        guard let start = lines.firstIndex(where: { $0.hasPrefix(label) }) else { throw TestFailure("no \(label)") }
        var bytes: [UInt8] = []
        for line in lines[(start + 1)...] {
            guard line.allSatisfy({ $0.isHexDigit || $0 == ":" }), !line.isEmpty else { break }
            for part in line.split(separator: ":") {
                guard let b = UInt8(part, radix: 16) else { throw TestFailure("bad hex \(part)") }
                bytes.append(b)
            }
        }
        return bytes
    }

    /// Removes the directory.
    func remove() { _ = Self.shell("rm -rf \(directory)") }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension String {
    var trimmed: String {
        var s = Substring(self)
        while let f = s.first, f == " " { s = s.dropFirst() }
        return String(s)
    }
}
