// Runs gnuplot (Debian gnuplot-nox) as a child process on a generated script. A separate process
// rather than a linked plotting library: nothing of gnuplot lives in the trainer's address space,
// a crash in it is an error message here, and the script stays beside its CSV for the user.
#pragma once

#include <string>

namespace ecg::report {

// The gnuplot executable: "gnuplot" looked up on PATH, or a path. Empty when not found.
std::string find_program(const std::string& program);

// Runs `program -e "png_out='...'; svg_out='...'" script` with `dir` as the working directory, so
// the script's relative file names resolve beside it; the variables let it write to temp names
// (figures.h renames them into place, an atomic write). Throws one line naming the script and
// gnuplot's first error line when gnuplot exits non-zero or dies, and
// "gnuplot not found: apt install gnuplot-nox" when it is missing.
void run_gnuplot(const std::string& program, const std::string& dir, const std::string& script,
                 const std::string& png_out, const std::string& svg_out);

}  // namespace ecg::report
