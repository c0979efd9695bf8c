// One error idiom for the whole code base: every failure is an ecg::Error carrying the
// user-facing message plus the file:line that raised it. main() catches it, prints it with
// the rank, and exits (or aborts MPI) with a non-zero code.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace ecg {

class Error : public std::runtime_error {
 public:
  Error(std::string message, const char* file, int line);
  // The user-facing message without the source location.
  const std::string& message() const { return message_; }
  const char* file() const { return file_; }
  int line() const { return line_; }

 private:
  std::string message_;
  const char* file_;
  int line_;
};

[[noreturn]] void throw_error(const char* file, int line, std::string message);

}  // namespace ecg

// ECG_CHECK(cond, "fmt {}", args...): throws ecg::Error with file:line when cond is false.
#define ECG_CHECK(cond, ...)                                              \
  do {                                                                    \
    if (!(cond)) ::ecg::throw_error(__FILE__, __LINE__, fmt::format(__VA_ARGS__)); \
  } while (0)

// ECG_FAIL("fmt {}", args...): unconditional failure.
#define ECG_FAIL(...) ::ecg::throw_error(__FILE__, __LINE__, fmt::format(__VA_ARGS__))
