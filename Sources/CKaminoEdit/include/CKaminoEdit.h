#ifndef CKAMINO_EDIT_H
#define CKAMINO_EDIT_H

/// Line editing for `kamino repl` over libedit's readline interface. The library keeps
/// global state, so there is one editor per process: open it once, from one thread.

/// Called on Tab with the line up to the cursor; answers by calling
/// `kamino_edit_offer` once per candidate (whole words that replace the one being typed).
typedef void (*kamino_edit_completer)(const char *_Nonnull line_before_cursor);

/// Starts the editor: loads the history from `history_path` (missing is fine), keeps at
/// most `history_limit` lines, and completes words with `completer`. An empty path
/// keeps the history for this session only.
void kamino_edit_open(const char *_Nonnull history_path, int history_limit, kamino_edit_completer _Nonnull completer);

/// Reads one edited line (malloc'd, without the newline; the caller frees it), or NULL
/// at end of input.
char *_Nullable kamino_edit_read(const char *_Nonnull prompt);

/// Adds `line` to the history (unless it repeats the previous one) and saves the file.
void kamino_edit_remember(const char *_Nonnull line);

/// Offers one completion candidate; only valid inside the completer.
void kamino_edit_offer(const char *_Nonnull candidate);

#endif
