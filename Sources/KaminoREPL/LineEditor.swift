import CKaminoEdit

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The interactive REPL's input: libedit's line editing (arrows, Ctrl-R, Emacs keys),
/// a persistent bounded history and Tab completion from `ReplCompletion`. The library
/// has one global editor, so this is a namespace; use it from one thread.
package enum LineEditor {
    /// The history file: `$HOME/.kamino_history`, or nil without a home directory.
    package static var defaultHistoryPath: String? {
        guard let home = getenv("HOME").map({ String(cString: $0) }), !home.isEmpty else { return nil }
        return home + "/.kamino_history"
    }

    /// Starts the editor, loading the history (at most `historyLimit` lines are kept).
    package static func open(historyPath: String?, historyLimit: Int = 1000) {
        precondition(historyLimit > 0 && historyLimit <= Int(Int32.max), "history limit out of range")
        kamino_edit_open(historyPath ?? "", Int32(historyLimit)) { line in
            for candidate in ReplCompletion.candidates(forLine: String(cString: line)) {
                kamino_edit_offer(candidate)
            }
        }
    }

    /// Reads one edited line, or nil at end of input (Ctrl-D).
    package static func read(prompt: String) -> String? {
        guard let raw = kamino_edit_read(prompt) else { return nil }
        defer { free(raw) }
        return String(cString: raw)
    }

    /// Adds a line (without its surrounding blanks) to the history and saves it.
    package static func remember(_ line: String) {
        kamino_edit_remember(line.trimmingWhitespace())
    }
}
