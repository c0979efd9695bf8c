// Rank-aware logging on top of spdlog. Progress (info/debug) is printed by rank 0 only so that
// N ranks never produce N copies of a line; warnings and errors are printed by every rank, with
// the rank in the line, because a straggler's or a failing rank's message must never be lost.
#pragma once

#include <fmt/format.h>

#include <string>

namespace ecg::log {

enum class Level { debug, info, warn, error };

// Called once after MPI init (before: rank 0 of 1 is assumed).
void set_rank(int rank, int world_size);
int rank();
// The level starts at info, or at ECGDIST_LOG_LEVEL (debug|info|warning|error) when set: a
// developer can turn on debug lines (e.g. where an error was raised) without a new flag per command.
void set_level(Level level);
bool enabled(Level level);
void write(Level level, const std::string& message);

// The one line a failed command ends with: "[rank r] ecgdist: error: <message>" on stderr, from
// every rank (the program name says which tool failed when its output is mixed with mpirun's).
void fatal(const std::string& message);

template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  write(Level::info, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
  write(Level::debug, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
  write(Level::warn, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
  write(Level::error, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace ecg::log
