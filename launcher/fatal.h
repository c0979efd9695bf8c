// The fatal-error path shared by every command: print the message once, from the rank that hit
// it, and make sure no other rank is left waiting in a collective (abort the communicator when
// one is registered).
#pragma once

#include <functional>
#include <string>

namespace ecg::launcher {

// Registers what to call to bring all ranks down (e.g. MPI_Abort). Cleared with nullptr.
void set_abort_hook(std::function<void(int exit_code)> hook);

// Prints one line, "ecgdist: error: <message>" with the rank prefix, and returns the exit code
// (1), or does not return when an abort hook is set (multi-rank runs). `where` (the source
// file:line that raised it) is for developers: appended only at ECGDIST_LOG_LEVEL=debug, because
// a build path means nothing to a user. Only the first line of `message` is printed (foreign
// exceptions such as c10::Error carry a backtrace after it).
int report_fatal(const std::string& message, const std::string& where);

}  // namespace ecg::launcher
