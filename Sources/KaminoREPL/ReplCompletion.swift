/// What Tab offers at the cursor: operation names at the start of a line, the
/// operation's field names (with their `=`) inside an object, and flag names after
/// `flags=` or `|`. Pure, so it is tested without a terminal.
package enum ReplCompletion {
    /// The words that may replace the one being typed at the end of `line` (the line up
    /// to the cursor): operations and fields in `help`'s order, flags sorted. Words break at blanks and at `=`, `|`, `,` and `;`, as the
    /// line editor is told.
    package static func candidates(forLine line: String) -> [String] {
        let breaks: Set<Character> = [" ", "\t", "\n", "=", "|", ",", ";"]
        let wordStart = line.lastIndex(where: { breaks.contains($0) }).map { line.index(after: $0) } ?? line.startIndex
        let word = String(line[wordStart...])
        let before = line[..<wordStart]
        let head = before.drop(while: { $0 == " " || $0 == "\t" })
        guard let operationEnd = head.firstIndex(where: { $0 == " " || $0 == "\t" }) else {
            // Still typing the first word: the operation.
            guard head.isEmpty else { return [] }
            return ReplParser.operations.filter { $0.hasPrefix(word) }
        }
        let operation = String(head[..<operationEnd])
        guard let fields = ReplParser.fieldNames[operation] else { return [] }
        // The key=value token the word belongs to starts after the last blank or comma.
        let tokenStart = before.lastIndex(where: { $0 == " " || $0 == "\t" || $0 == "," }).map { before.index(after: $0) }
            ?? before.startIndex
        let token = before[tokenStart...]
        if token.isEmpty {
            return fields.filter { $0.hasPrefix(word) }.map { $0 + "=" }
        }
        // Inside a value: only flags have names to complete.
        guard token.hasPrefix("flags=") else { return [] }
        let given = Set(token.dropFirst("flags=".count).split(separator: "|").map(String.init))
        return ReplParser.flagNames(operation).keys.filter { $0.hasPrefix(word) && !given.contains($0) }.sorted()
    }
}
