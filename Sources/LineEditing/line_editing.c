#include "LineEditing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <editline/readline.h>

static le_completer completer = NULL;
static char *history_path = NULL;

// readline wants [substitution, match..., NULL]: the substitution is the
// longest common prefix of the matches (or the one match).
static char **attempt_completion(const char *text, int start, int end) {
    (void)start;
    (void)end;
    rl_attempted_completion_over = 1;  // never fall back to file names
    if (completer == NULL) return NULL;
    char **words = completer(text);
    if (words == NULL || words[0] == NULL) {
        free(words);
        return NULL;
    }
    size_t n = 0;
    while (words[n]) n++;
    if (n == 1) return words;
    size_t common = strlen(words[0]);
    for (size_t i = 1; i < n; i++) {
        size_t j = 0;
        while (j < common && words[i][j] == words[0][j]) j++;
        common = j;
    }
    char **matches = malloc((n + 2) * sizeof *matches);
    if (matches == NULL) return words;
    matches[0] = strndup(words[0], common);
    memcpy(matches + 1, words, (n + 1) * sizeof *matches);
    free(words);
    return matches;
}

void le_setup(const char *name, const char *history_file, le_completer fn) {
    static char breaks[] = " \t\n\"'`@$><=;|&{(,+-*/%^~#[]";
    rl_readline_name = name;
    rl_completer_word_break_characters = breaks;
    rl_basic_word_break_characters = breaks;
    rl_attempted_completion_function = attempt_completion;
    completer = fn;
    stifle_history(1000);
    if (history_file) {
        history_path = strdup(history_file);
        read_history(history_path);
    }
}

char *le_readline(const char *prompt) {
    rl_completion_append_character = '\0';
    return readline(prompt);
}

void le_remember(const char *entry) {
    add_history(entry);
    if (history_path) write_history(history_path);
}
