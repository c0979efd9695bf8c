// The fatal-error path shared by every command: print the message once, from the rank that hit
// it, and make sure no other rank is left waiting in a collective (abort the communicator when
// one is registered).
#pragma once

#include <functional>
#include <string>

namespace ecg::launcher {

// Registers what to call to bring all ranks down (e.g. MPI_Abort). Cleared with nullptr.
void set_abort_hook(std::function<void(int exit_code)> hook);

// Prints "error: <message> (<where>)" with the rank prefix and returns the exit code (1), or does
// not return when an abort hook is set (multi-rank runs).
int report_fatal(const std::string& message, const std::string& where);

}  // namespace ecg::launcher
