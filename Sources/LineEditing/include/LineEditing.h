// Line editing for the REPL: libedit's readline interface, kept in C because
// its configuration is global variables that Swift 6 will not touch.
#ifndef HANFS_LINE_EDITING_H
#define HANFS_LINE_EDITING_H

/// Returns the completions of `word` as a malloc'd, NULL-terminated array of
/// malloc'd strings, or NULL for none.
typedef char **(*le_completer)(const char *word);

/// Sets up completion (words break on blanks and operators, not on `.` or
/// `:`), and loads the history file (NULL: no history file).
void le_setup(const char *name, const char *history_file, le_completer completer);

/// A line typed at `prompt` (malloc'd, free it), or NULL at end of input or
/// when a signal interrupted the read.
char *le_readline(const char *prompt);

/// Adds an entry to the history and saves the history file.
void le_remember(const char *entry);

#endif
