import ArgumentParser
import LedgerClient

/// The TLS flags of the client commands (`repl`, `bench --address`): TLS is on as soon as
/// one is given. The server's certificate is verified against `--tls-ca` (or the system's
/// trust store) and must name the host connected to, or `--tls-server-name`.
struct ClientTLSOptions: ParsableArguments {
    @Option(name: .customLong("tls-ca"), help: "TLS: PEM file of the CAs that sign the server's certificate (turns TLS on).")
    var ca: String?

    @Option(name: .customLong("tls-cert"), help: "TLS: PEM file of a client certificate (servers with --tls-client-auth).")
    var certificate: String?

    @Option(name: .customLong("tls-key"), help: "TLS: PEM file of the client certificate's key.")
    var key: String?

    @Option(name: .customLong("tls-server-name"), help: "TLS: the name the server's certificate must carry (default: the host connected to).")
    var serverName: String?

    @Option(name: .customLong("tls-crl"), help: "TLS: PEM file of revocation lists of the --tls-ca CAs; a revoked server certificate is refused.")
    var crl: String?

    /// The client's TLS options, nil when no flag was given (plaintext).
    var options: KaminoTLSOptions? {
        guard ca != nil || certificate != nil || key != nil || serverName != nil || crl != nil else { return nil }
        return KaminoTLSOptions(caFile: ca, certificateChain: certificate, privateKey: key, serverName: serverName,
                                crlFile: crl)
    }

    func validate() throws {
        if (certificate == nil) != (key == nil) {
            throw ValidationError("--tls-cert and --tls-key go together")
        }
        if crl != nil && ca == nil {
            throw ValidationError("--tls-crl holds revocation lists of the --tls-ca CAs; give --tls-ca too")
        }
    }
}
