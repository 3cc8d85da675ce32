import Glibc
import KaminoTestSupport
import Testing

/// Runs `kamino serve` with `arguments` in `directory` until it is listening (then stops
/// it) or exits; returns the exit status (nil when it was listening) and the output.
/// `environment` is set for the server only.
private func serve(
    _ arguments: [String], in directory: String, environment: [String: String] = [:]
) throws -> (status: Int32?, output: String) {
    let kamino = try #require(builtExecutable("kamino"))
    let out = directory + "/serve.out"
    _ = unlink(out)
    let assignments = environment.sorted { $0.key < $1.key }.map { "\($0.key)='\($0.value)' " }.joined()
    let argv = ["/bin/sh", "-c", "cd '\(directory)' && \(assignments)exec '\(kamino)' serve "
        + arguments.map { "'\($0)'" }.joined(separator: " ")]
    let pid = try #require(spawnProcess(argv, stdout: out, stderr: out))
    let deadline = monotonicSeconds() + 30
    var status: Int32 = 0
    while monotonicSeconds() < deadline {
        if waitpid(pid, &status, WNOHANG) == pid {
            return ((status >> 8) & 0xFF, String(decoding: fileBytes(out), as: UTF8.self))
        }
        let text = String(decoding: fileBytes(out), as: UTF8.self)
        if text.contains("listening on") {
            kill(pid, SIGTERM)
            waitpid(pid, &status, 0)
            // With what it logged while stopping.
            return (nil, String(decoding: fileBytes(out), as: UTF8.self))
        }
        usleep(20_000)
    }
    kill(pid, SIGKILL)
    waitpid(pid, &status, 0)
    return (nil, "timed out: " + String(decoding: fileBytes(out), as: UTF8.self))
}

private func writeText(_ path: String, _ text: String) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    _ = Array(text.utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    close(fd)
}

@Suite("Config file (TOML through swift-configuration)", .serialized)
struct ConfigFileTests {
    @Test func relativePathsAreRelativeToTheFileAndEverySettingSaysItsSource() throws {
        let root = temporaryDataDir("config")
        let base = String(root.dropLast("/data".count))
        defer { removeDataDir(root) }
        mkdir(base + "/etc", 0o755)
        writeText(base + "/etc/kamino.toml", "data = \"ledger\"\nlisten = \"127.0.0.1:0\"\nmetrics = \"off\"\n")
        let (status, output) = try serve(["--config", "etc/kamino.toml", "--shards", "1"], in: base)
        #expect(status == nil, "\(output)")
        #expect(access(base + "/etc/ledger/kamino.control", F_OK) == 0, "data not resolved against the file: \(output)")
        #expect(output.contains("key=data source=file etc/kamino.toml:1 value=\(base)/etc/ledger"), "\(output)")
        #expect(output.contains("key=shards source=flag value=1"), "\(output)")
        #expect(output.contains("key=snapshot_every source=default"), "\(output)")
        #expect(output.contains("key=snapshot_log_bytes source=default value=268435456"), "\(output)")
    }

    @Test func relativeTLSPathsInTheFileAreRelativeToTheFile() throws {
        let certificates = try #require(TestCertificates.make(), "openssl could not make the test certificates")
        defer { certificates.remove() }
        let root = temporaryDataDir("config-tls")
        let base = String(root.dropLast("/data".count))
        defer { removeDataDir(root) }
        mkdir(base + "/etc", 0o755)
        writeText(base + "/etc/server.pem", String(decoding: fileBytes(certificates.serverCertificate), as: UTF8.self))
        writeText(base + "/etc/server.key", String(decoding: fileBytes(certificates.serverKey), as: UTF8.self))
        writeText(
            base + "/etc/kamino.toml",
            "data = \"ledger\"\nlisten = \"127.0.0.1:0\"\nmetrics = \"off\"\ntls_cert = \"server.pem\"\ntls_key = \"server.key\"\n")
        let (status, output) = try serve(["--config", "etc/kamino.toml"], in: base)
        #expect(status == nil, "the certificate was looked up beside the working directory: \(output)")
        #expect(output.contains("etc/server.pem"), "\(output)")
    }

    @Test(arguments: [
        ("snapshot_every = -5\n", "kamino.toml:1: snapshot_every: `-5` is not a non-negative integer"),
        ("snapshot_log_bytes = -1\n", "kamino.toml:1: snapshot_log_bytes: `-1` is not a byte count from 0 to"),
        ("shards = 99\n", "kamino.toml:1: shards: `99` is not a shard count from 1 to"),
        ("bogus = 1\n", "kamino.toml:1: unknown key `bogus`"),
        ("data = [1]\n", "kamino.toml:1: `data`: expected a \"quoted string\" or an integer"),
        ("data = \"x\ndata = \"y\"\n", "kamino.toml:1:"),
        ("tls_cert = \"a.pem\"\ntls_key = \"a.key\"\ntls_crl = \"r.pem\"\n",
         "kamino.toml:3: tls_crl: revocation lists apply to the certificates tls_ca verifies"),
        ("tls_cert = \"a.pem\"\ntls_key = \"a.key\"\ntls_ca = \"ca.pem\"\ntls_crl = \"r.pem\"\n",
         "kamino.toml:4: tls_crl: no peer certificate is verified"),
    ])
    func badFilesAreRefusedNamingFileLineAndKey(_ text: String, _ message: String) throws {
        let root = temporaryDataDir("config-bad")
        let base = String(root.dropLast("/data".count))
        defer { removeDataDir(root) }
        writeText(base + "/kamino.toml", text)
        let (status, output) = try serve(["--config", "kamino.toml", "--listen", "127.0.0.1:0", "--metrics", "off"], in: base)
        #expect(status != nil && status != 0, "\(output)")
        #expect(output.contains(message), "\(output)")
    }

    @Test func flagsBeatEnvironmentBeatFile() throws {
        let root = temporaryDataDir("config-precedence")
        let base = String(root.dropLast("/data".count))
        defer { removeDataDir(root) }
        writeText(base + "/kamino.toml", "data = \"ledger\"\nlisten = \"127.0.0.1:0\"\nmetrics = \"off\"\nshards = 3\nsnapshot_every = 7\n")
        let common = ["--config", "kamino.toml"]
        let environment = ["KAMINO_SHARDS": "2", "KAMINO_DATA": base + "/from-env", "KAMINO_MAX_CONNECTIONS": "50"]
        // The file alone.
        var (status, output) = try serve(common, in: base)
        #expect(status == nil, "\(output)")
        #expect(output.contains("key=shards source=file kamino.toml:4 value=3"), "\(output)")
        // The environment over the file.
        (status, output) = try serve(common, in: base, environment: environment)
        #expect(status == nil, "\(output)")
        #expect(output.contains("key=shards source=env KAMINO_SHARDS value=2"), "\(output)")
        #expect(output.contains("key=data source=env KAMINO_DATA value=\(base)/from-env"), "\(output)")
        #expect(output.contains("key=snapshot_every source=file kamino.toml:5 value=7"), "\(output)")
        #expect(output.contains("key=max_connections source=env KAMINO_MAX_CONNECTIONS value=50"), "\(output)")
        #expect(access(base + "/from-env/kamino.control", F_OK) == 0, "the environment's data dir was not used")
        // Flags over both.
        (status, output) = try serve(common + ["--shards", "1", "--data", "from-flag"], in: base, environment: environment)
        #expect(status == nil, "\(output)")
        #expect(output.contains("key=shards source=flag value=1"), "\(output)")
        // A relative --data is the working directory's, printed absolute.
        #expect(output.contains("key=data source=flag value=\(base)/from-flag"), "\(output)")
        #expect(access(base + "/from-flag/kamino.control", F_OK) == 0)
    }

    @Test(arguments: [
        (["--snapshot-every=-5"], [:], "--snapshot-every: `-5` is not a non-negative integer"),
        (["--snapshot-log-bytes=-1"], [:], "--snapshot-log-bytes: `-1` is not a byte count from 0 to"),
        (["--shards", "0"], [:], "--shards: `0` is not a shard count from 1 to"),
        (["--shards", "17"], [:], "--shards: `17` is not a shard count from 1 to"),
        (["--expected-transfers=-3"], [:], "--expected-transfers: `-3` is not a transfer count from 0 to"),
        ([], ["KAMINO_SHARDS": "-2"], "KAMINO_SHARDS: `-2` is not a shard count from 1 to"),
        ([], ["KAMINO_SNAPSHOT_LOG_BYTES": "99999999999999999999"], "KAMINO_SNAPSHOT_LOG_BYTES: `99999999999999999999` is not a byte count"),
        (["--listen", "127.0.0.1:70000"], [:], "--listen: `127.0.0.1:70000` is not HOST:PORT"),
        (["--log-level", "loud"], [:], "--log-level: `loud` is not a log level"),
        (["--log-format", "xml"], [:], "--log-format: `xml` is not a log format (text, json)"),
    ] as [([String], [String: String], String)])
    func badNumbersFromFlagsAndEnvironmentAreRangeErrors(_ flags: [String], _ environment: [String: String], _ message: String) throws {
        let root = temporaryDataDir("config-range")
        let base = String(root.dropLast("/data".count))
        defer { removeDataDir(root) }
        let (status, output) = try serve(["--data", root, "--listen", "127.0.0.1:0", "--metrics", "off"] + flags,
                                         in: base, environment: environment)
        #expect(status != nil && status != 0, "\(output)")
        #expect(output.contains(message), "\(output)")
        #expect(access(root, F_OK) != 0, "a refused configuration created the data directory")
    }

    @Test func logLevelAndFormatApply() throws {
        let root = temporaryDataDir("config-log")
        let base = String(root.dropLast("/data".count))
        defer { removeDataDir(root) }
        let common = ["--data", root, "--listen", "127.0.0.1:0", "--metrics", "off"]
        var (status, output) = try serve(common, in: base)
        #expect(status == nil, "\(output)")
        #expect(output.contains(" info kamino.serve: ") && output.contains("recovered"), "text lines at info: \(output)")
        #expect(!output.contains("{\"ts\""))
        // Every setting says where it came from, and the shutdown is logged.
        for line in ["key=prepare_segments source=default value=on", "key=replication source=default value=off",
                     "key=auth source=default value=off", "key=max_connections source=default value=10000"] {
            #expect(output.contains(line), "\(line): \(output)")
        }
        #expect(output.split(separator: "\n").filter { $0.contains("[kamino] setting") }.allSatisfy { $0.contains(" source=") },
                "a setting without its source: \(output)")
        #expect(output.contains("shutting down: no new connections"), "\(output)")
        #expect(output.contains("durable_lsn=0") && output.contains("stopped: the log is closed"), "\(output)")
        (status, output) = try serve(common + ["--log-level", "warning"], in: base)
        #expect(status == nil, "\(output)")
        #expect(output.contains("listening on"))
        #expect(!output.contains("recovered") && !output.contains("starting kamino"), "info lines below warning: \(output)")
        (status, output) = try serve(common + ["--log-format", "json"], in: base, environment: ["KAMINO_LOG_LEVEL": "debug"])
        #expect(status == nil, "\(output)")
        let lines = output.split(separator: "\n").filter { $0.hasPrefix("{") }
        #expect(lines.contains { $0.contains("\"msg\":\"recovered\"") }, "\(output)")
        #expect(lines.contains { $0.contains("\"key\":\"log_level\"") && $0.contains("\"source\":\"env KAMINO_LOG_LEVEL\"") && $0.contains("\"value\":\"debug\"") },
                "\(output)")
        // Every log line is JSON; only the announcements are plain.
        for line in output.split(separator: "\n") where !line.hasPrefix("{") {
            #expect(line.hasPrefix("listening on") || line.hasPrefix("stopped"), "not JSON: \(line)")
        }
    }

    @Test func bindErrorsAreExplained() throws {
        let dir = temporaryDataDir("config-bind")
        defer { removeDataDir(dir) }
        let first = try #require(ServerProcess.start(dataDir: dir), "kamino serve did not start")
        defer { first.terminate() }
        let other = temporaryDataDir("config-bind2")
        defer { removeDataDir(other) }
        let base = String(other.dropLast("/data".count))
        let (status, output) = try serve(["--data", other, "--listen", "127.0.0.1:\(first.port)", "--metrics", "off"], in: base)
        #expect(status != nil && status != 0, "\(output)")
        #expect(output.contains("already in use"), "\(output)")
        #expect(output.contains("listens on port \(first.port)") && output.contains("choose another port"), "\(output)")
        // The metrics port too, in the same words.
        let (metricsStatus, metricsOutput) = try serve(
            ["--data", other, "--listen", "127.0.0.1:0", "--metrics", "127.0.0.1:\(first.port)"], in: base)
        #expect(metricsStatus != nil && metricsStatus != 0, "\(metricsOutput)")
        #expect(metricsOutput.contains("cannot serve metrics on 127.0.0.1:\(first.port): the address is already in use"),
                "\(metricsOutput)")
    }
}
