import Glibc

/// Certificates for TLS tests, made with the `openssl` command line in a fresh temporary
/// directory: a CA, a server certificate for 127.0.0.1 and localhost (usable as a client
/// certificate too, as a replicated node's is), a client certificate, and a second CA
/// with its own server certificate (the "wrong CA").
package struct TestCertificates: Sendable {
    package let directory: String
    package var caCertificate: String { directory + "/ca.pem" }
    package var serverCertificate: String { directory + "/server.pem" }
    package var serverKey: String { directory + "/server.key" }
    package var clientCertificate: String { directory + "/client.pem" }
    package var clientKey: String { directory + "/client.key" }
    package var otherCACertificate: String { directory + "/other-ca.pem" }
    package var otherServerCertificate: String { directory + "/other-server.pem" }
    package var otherServerKey: String { directory + "/other-server.key" }

    /// Makes them (about a second: EC P-256 keys). Returns nil if `openssl` failed; its
    /// output is in `<directory>/openssl.log`.
    package static func make() -> TestCertificates? {
        var template = Array("/tmp/kamino-tls-XXXXXX".utf8CString)
        let made: String? = template.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress, mkdtemp(base) != nil else { return nil }
            return String(cString: base)
        }
        guard let directory = made else { return nil }
        let certificates = TestCertificates(directory: directory)
        return certificates.generate() ? certificates : nil
    }

    private func generate() -> Bool {
        let log = directory + "/openssl.log"
        let extensions = directory + "/ext.cnf"
        let text = """
            [leaf]
            basicConstraints = critical, CA:FALSE
            keyUsage = critical, digitalSignature, keyEncipherment
            extendedKeyUsage = serverAuth, clientAuth
            subjectAltName = IP:127.0.0.1, DNS:localhost

            """
        guard writeText(text, to: extensions) else { return false }
        func run(_ arguments: [String]) -> Bool { runProcess(["/usr/bin/openssl"] + arguments, log: log) == 0 }
        func ca(_ name: String) -> Bool {
            run(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                 "-subj", "/CN=Kamino test \(name)", "-keyout", "\(directory)/\(name).key", "-out", "\(directory)/\(name).pem"])
        }
        func leaf(_ name: String, cn: String, ca: String) -> Bool {
            run(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=\(cn)",
                 "-keyout", "\(directory)/\(name).key", "-out", "\(directory)/\(name).csr"])
                && run(["x509", "-req", "-in", "\(directory)/\(name).csr", "-CA", "\(directory)/\(ca).pem",
                        "-CAkey", "\(directory)/\(ca).key", "-CAcreateserial", "-days", "2",
                        "-extfile", extensions, "-extensions", "leaf", "-out", "\(directory)/\(name).pem"])
        }
        return ca("ca") && ca("other-ca") && leaf("server", cn: "localhost", ca: "ca")
            && leaf("client", cn: "kamino-test-client", ca: "ca") && leaf("other-server", cn: "localhost", ca: "other-ca")
    }

    /// Writes a certificate revocation list of the test CA (`ca.pem`) that revokes the
    /// certificates in `revoked` (PEM files it signed), valid two days, with the `openssl ca`
    /// command line; returns its path (`<directory>/<name>.crl.pem`), nil if openssl failed.
    package func makeCRL(name: String, revoking revoked: [String]) -> String? {
        let database = directory + "/crl-" + name
        let log = directory + "/openssl.log"
        let configuration = """
            [ca]
            default_ca = test_ca
            [test_ca]
            database = \(database)/index.txt
            crlnumber = \(database)/crlnumber
            default_md = sha256
            default_crl_days = 2

            """
        guard mkdir(database, 0o755) == 0, writeText("", to: database + "/index.txt"),
              writeText("01\n", to: database + "/crlnumber"), writeText(configuration, to: database + "/ca.cnf")
        else { return nil }
        func ca(_ arguments: [String]) -> Bool {
            runProcess(["/usr/bin/openssl", "ca", "-config", database + "/ca.cnf", "-keyfile", directory + "/ca.key",
                        "-cert", caCertificate] + arguments, log: log) == 0
        }
        for certificate in revoked where !ca(["-revoke", certificate]) { return nil }
        let path = directory + "/\(name).crl.pem"
        return ca(["-gencrl", "-out", path]) ? path : nil
    }

    /// Removes the directory and its files.
    package func remove() {
        _ = runProcess(["/bin/rm", "-rf", directory], log: "/dev/null")
    }
}

/// Writes `text` to `path` (created or truncated); false on failure.
package func writeText(_ text: String, to path: String) -> Bool {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    let bytes = Array(text.utf8)
    return bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == bytes.count
}
