// What text from the runs may become on its way into a plot: every string that a figure shows
// (task names, class names, run folders) comes from files that someone else may have written, and
// gnuplot is a script interpreter -- backquotes run shell commands inside double-quoted strings,
// `system("...")` is an expression, and `@name` expands macros. So such text reaches a script
// only as a single-quoted gnuplot literal (where none of these act), and file names are derived
// from it over a fixed alphabet instead of being it.
#pragma once

#include <string>
#include <vector>

namespace ecg::report {

// A gnuplot string expression that gnuplot reads back as exactly `text` with control characters
// (newlines included, which would end the command) shown as '?': `text` in single quotes, where
// neither backquote substitution, macro expansion nor backslash escapes happen (gnuplot 5 `help
// syntax`), with each single quote of `text` written as the concatenated piece "\047" (it's ->
// 'it'."\047".'s').
std::string gnuplot_literal(const std::string& text);

// gnuplot_literal for an explicit tic label (`set ytics ('label' 0)`): gnuplot reads such a label
// as a number format, so a class named "ST 50%" failed the report ("Bad format character"); each
// '%' is doubled, which gnuplot draws as one.
std::string gnuplot_tic_label(const std::string& text);

// `text` with control characters shown as '?' (what gnuplot_literal draws).
std::string printable(const std::string& text);

// A file-name stem from user text over [A-Za-z0-9_-] only: `text` itself when it already is one
// (at most 48 bytes), else its allowed characters (others become '_', at most 40 bytes) and '-'
// with 8 hex digits of a hash of the whole text, so that "a b" and "a_b" get different names.
std::string file_stem(const std::string& text);

// Throws when two of `texts` share a file_stem (naming both), which the hash makes very unlikely
// but a hostile input could try.
void check_distinct_stems(const std::vector<std::string>& texts, const std::string& what);

}  // namespace ecg::report
