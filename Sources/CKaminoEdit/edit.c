#include "CKaminoEdit.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <stdio.h>
#include <editline/readline.h>

// The one editor's state (libedit's own is global too).
static char *history_file;
static kamino_edit_completer completer;
static char *last_line;

enum { max_candidates = 256 };
static char *candidates[max_candidates];
static int candidate_count;
static int next_candidate;

void kamino_edit_offer(const char *candidate) {
    if (candidate_count == max_candidates) return;  // more than a screen of words: keep the first ones
    char *copy = strdup(candidate);
    if (copy == NULL) return;
    candidates[candidate_count++] = copy;
}

static void clear_candidates(void) {
    for (int i = 0; i < candidate_count; i++) free(candidates[i]);
    candidate_count = 0;
    next_candidate = 0;
}

// readline's generator: hands out the offered candidates one by one (strdup'd, the
// library frees them).
static char *next_match(const char *text, int state) {
    (void)text;
    if (state == 0) next_candidate = 0;
    if (next_candidate >= candidate_count) return NULL;
    return strdup(candidates[next_candidate++]);
}

static char **complete(const char *text, int start, int end) {
    (void)start;
    rl_attempted_completion_over = 1;  // never fall back to file names
    clear_candidates();
    size_t length = strlen(rl_line_buffer);
    size_t cursor = end < 0 ? 0 : (size_t)end;
    char *before = strndup(rl_line_buffer, cursor < length ? cursor : length);
    if (before == NULL) return NULL;
    completer(before);
    free(before);
    if (candidate_count == 0) return NULL;
    // `amount=` and `flags=` continue on the same word; anything else ends it.
    int continues = 1;
    for (int i = 0; i < candidate_count; i++) {
        size_t n = strlen(candidates[i]);
        if (n == 0 || candidates[i][n - 1] != '=') continues = 0;
    }
    rl_completion_append_character = continues ? '\0' : ' ';
    return rl_completion_matches(text, next_match);
}

void kamino_edit_open(const char *history_path, int history_limit, kamino_edit_completer fn) {
    assert(completer == NULL && "the line editor is opened once");
    assert(history_limit > 0);
    completer = fn;
    history_file = history_path[0] == '\0' ? NULL : strdup(history_path);
    rl_readline_name = "kamino";
    // Words break where the command language separates them, so `flags=linked|pe`
    // completes `pe` and `amo` completes to `amount=`.
    rl_basic_word_break_characters = " \t\n=|,;";
    rl_attempted_completion_function = complete;
    using_history();
    stifle_history(history_limit);
    if (history_file != NULL) read_history(history_file);
}

char *kamino_edit_read(const char *prompt) {
    return readline(prompt);
}

void kamino_edit_remember(const char *line) {
    if (last_line != NULL && strcmp(last_line, line) == 0) return;
    free(last_line);
    last_line = strdup(line);
    add_history(line);
    if (history_file != NULL) write_history(history_file);
}
