import Glibc
import KaminoTestSupport
import Testing

/// `kamino repl` as a person and a script use it, against an address where nothing
/// listens (no server needed): typed into a terminal under tmux with Tab, arrows and
/// history, and fed through a pipe.
@Suite("kamino repl in a terminal and in a pipe", .serialized)
struct ReplTerminalTests {
    static let dead = "127.0.0.1:1"

    /// Runs a shell script to completion; its exit status.
    func sh(_ script: String, log: String) -> Int32? {
        runProcess(["/bin/sh", "-c", script], log: log)
    }

    func text(_ path: String) -> String { String(decoding: fileBytes(path), as: UTF8.self) }

    @Test("Piped: answers on stdout, errors on stderr, exit status 1")
    func piped() throws {
        let kamino = try #require(builtExecutable("kamino"))
        let dir = try #require(makeTemporaryDirectory())
        defer { _ = sh("rm -rf '\(dir)'", log: "/dev/null") }
        let status = sh("""
            printf 'help\\n\\ncreate_accounts id=1 colour=red\\nlookup_accounts id=0x1_0\\n' \
            | '\(kamino)' repl --address \(Self.dead) > '\(dir)/out' 2> '\(dir)/err'
            """, log: dir + "/log")
        #expect(status == 1)
        let out = text(dir + "/out"), err = text(dir + "/err")
        #expect(out.hasPrefix("Commands") && !out.contains("error"))
        #expect(err.contains("error: account 0: field colour: unknown field"))
        #expect(err.contains("error: cannot reach 127.0.0.1:1"))

        // --command: the same split and exit status; every command runs.
        let oneShot = sh("""
            '\(kamino)' repl --address \(Self.dead) --command 'lookup_accounts id=1' --command help \
            > '\(dir)/out2' 2> '\(dir)/err2'
            """, log: dir + "/log2")
        #expect(oneShot == 1)
        #expect(text(dir + "/out2").hasPrefix("Commands") && !text(dir + "/out2").contains("error"))
        #expect(text(dir + "/err2").hasPrefix("error: cannot reach 127.0.0.1:1 ("))
    }

    @Test("The demo prints statuses with the reference's names")
    func demo() throws {
        let kamino = try #require(builtExecutable("kamino"))
        let dir = try #require(makeTemporaryDirectory())
        defer { _ = sh("rm -rf '\(dir)'", log: "/dev/null") }
        #expect(sh("'\(kamino)' demo > '\(dir)/out'", log: dir + "/log") == 0)
        let out = text(dir + "/out")
        #expect(out.contains("create_transfers: [\"created\", \"created\", \"exceeds_credits\", \"created\"]"), "\(out)")
        #expect(!out.contains("exceedsCredits"))
    }

    /// A tmux server of its own (its own socket), with one window running the REPL.
    struct Terminal {
        let socket = "kamino-repl-test-\(getpid())"
        let log: String
        let tmux = "/usr/bin/tmux"

        func run(_ args: [String]) -> String {
            _ = runProcess([tmux, "-L", socket] + args, log: log)
            defer { unlink(log) }
            return String(decoding: fileBytes(log), as: UTF8.self)
        }

        func start(_ command: String) {
            _ = run(["new-session", "-d", "-s", "repl", "-x", "150", "-y", "40", command])
        }

        func keys(_ keys: String...) { _ = run(["send-keys", "-t", "repl"] + keys) }

        var screen: String { run(["capture-pane", "-p", "-t", "repl"]) }

        var alive: Bool { runProcess([tmux, "-L", socket, "has-session", "-t", "repl"], log: "/dev/null") == 0 }

        /// Waits up to 20 s for the screen to satisfy `condition`; the last screen.
        func wait(_ condition: (String) -> Bool) -> String {
            var last = ""
            for _ in 0..<200 {
                last = screen
                if condition(last) { return last }
                usleep(100_000)
            }
            return last
        }

        func waitForExit() -> Bool {
            for _ in 0..<100 where alive { usleep(100_000) }
            return !alive
        }

        /// Ends the tmux server and removes its socket file (tmux leaves it behind).
        func stop() {
            _ = run(["kill-server"])
            let base = getenv("TMUX_TMPDIR").map { String(cString: $0) } ?? "/tmp"
            unlink("\(base)/tmux-\(getuid())/\(socket)")
        }
    }

    /// The prompt is on screen (capture-pane drops its trailing blank).
    static func prompted(_ screen: String) -> Bool {
        screen.split(separator: "\n").contains { $0.hasPrefix(">") }
    }

    @Test("Tab completes, arrows edit and recall, history survives a restart")
    func terminal() throws {
        let kamino = try #require(builtExecutable("kamino"))
        try #require(access("/usr/bin/tmux", X_OK) == 0, "tmux is needed (scripts/setup test installs it)")
        let dir = try #require(makeTemporaryDirectory())
        defer { _ = sh("rm -rf '\(dir)'", log: "/dev/null") }
        let term = Terminal(log: dir + "/tmux.log")
        defer { term.stop() }
        let command = "env HOME='\(dir)' TERM=xterm '\(kamino)' repl --address \(Self.dead)"

        term.start(command)
        let first = term.wait(Self.prompted)
        #expect(first.contains("type help"))
        // It says whether the server answered, never "connected" to a dead one.
        #expect(first.contains("error: cannot reach 127.0.0.1:1 (") && !first.contains("connected"), "\(first)")
        // Tab: the operation (via its common prefix), a field with its `=`, a flag.
        term.keys("cre", "Tab")
        #expect(term.wait { $0.contains("> create_") }.contains("> create_"))
        term.keys("t", "Tab", "am", "Tab", "5 flags=pe", "Tab")
        let completed = term.wait { $0.contains("> create_transfers amount=5 flags=pending") }
        #expect(completed.contains("> create_transfers amount=5 flags=pending"), "\(completed)")
        term.keys("Enter")
        let answered = term.wait { $0.contains("field id: is required") }
        #expect(answered.contains("error: transfer 0: field id: is required"), "\(answered)")

        // Up recalls the line (no escape codes in it); Enter runs it again.
        term.keys("Up")
        _ = term.wait { $0.components("> create_transfers amount=5 flags=pending") == 2 }
        term.keys("Enter")
        let twice = term.wait { $0.components("field id: is required") == 2 }
        #expect(twice.components("field id: is required") == 2, "\(twice)")
        #expect(!twice.contains("[A") && !twice.contains("^["))

        // Left moves the cursor: `id=2` becomes `id=12`. A dead server answers plainly,
        // and keeps answering (no circuit breaker in interactive mode).
        term.keys("lookup_accounts id=2", "Left", "1", "Enter")
        let reached = term.wait { $0.components("cannot reach") == 2 }
        #expect(reached.contains("> lookup_accounts id=12"), "\(reached)")
        #expect(reached.components("error: cannot reach 127.0.0.1:1") == 2, "\(reached)")
        term.keys("exit", "Enter")
        #expect(term.waitForExit())
        #expect(text(dir + "/.kamino_history").contains("lookup_accounts"))

        // A new session finds the history.
        term.start(command)
        #expect(term.wait(Self.prompted).contains("type help"))
        term.keys("Up", "Up")
        let recalled = term.wait { $0.contains("> exit") || $0.contains("> lookup_accounts id=12") }
        #expect(recalled.contains("> lookup_accounts id=12"), "\(recalled)")
        term.keys("C-u", "C-d")
        #expect(term.waitForExit())
    }
}

/// A new empty directory under /tmp.
func makeTemporaryDirectory() -> String? {
    var template = Array("/tmp/kamino-repl-XXXXXX".utf8CString)
    return template.withUnsafeMutableBufferPointer { buf in
        guard let base = buf.baseAddress, let made = mkdtemp(base) else { return nil }
        return String(cString: made)
    }
}

extension String {
    /// How many times `needle` occurs (without overlaps).
    func components(_ needle: String) -> Int {
        var count = 0
        var rest = self[...]
        while let range = rest.firstRange(of: needle) {
            count += 1
            rest = rest[range.upperBound...]
        }
        return count
    }
}
