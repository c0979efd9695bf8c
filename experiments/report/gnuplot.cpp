#include "experiments/report/gnuplot.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <vector>

#include "common/error.h"

namespace ecg::report {
namespace {

bool is_executable(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// The first line of gnuplot's stderr that says what went wrong (its messages span a few lines:
// the offending script line, a caret, then `"script" line N: message`).
std::string error_line(const std::string& output) {
  std::istringstream in(output);
  std::string line, fallback;
  while (std::getline(in, line)) {
    if (line.find(" line ") != std::string::npos && line.find(':') != std::string::npos) return line;
    if (fallback.empty() && line.find_first_not_of(" \t^") != std::string::npos) fallback = line;
  }
  return fallback.empty() ? "no message" : fallback;
}

}  // namespace

std::string find_program(const std::string& program) {
  if (program.find('/') != std::string::npos) return is_executable(program) ? program : "";
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
    if (is_executable(candidate)) return candidate;
  }
  return "";
}

void run_gnuplot(const std::string& program, const std::string& dir, const std::string& script,
                 const std::string& png_out, const std::string& svg_out) {
  const std::string exe = find_program(program);
  ECG_CHECK(!exe.empty(), "gnuplot not found ('{}'): apt install gnuplot-nox", program);
  const std::string vars = "png_out='" + png_out + "'; svg_out='" + svg_out + "'";

  int err_pipe[2];
  ECG_CHECK(::pipe(err_pipe) == 0, "report: pipe for gnuplot failed: {}", std::strerror(errno));
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(err_pipe[0]);
    ::close(err_pipe[1]);
    ECG_FAIL("report: cannot start gnuplot for {}: {}", script, std::strerror(errno));
  }
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    ::dup2(err_pipe[1], STDERR_FILENO);
    ::dup2(err_pipe[1], STDOUT_FILENO);
    ::close(err_pipe[0]);
    ::close(err_pipe[1]);
    const int null_in = ::open("/dev/null", O_RDONLY);
    if (null_in >= 0) ::dup2(null_in, STDIN_FILENO);
    if (::chdir(dir.c_str()) != 0) ::_exit(126);
    std::vector<char*> argv{const_cast<char*>(exe.c_str()), const_cast<char*>("-e"), const_cast<char*>(vars.c_str()),
                            const_cast<char*>(script.c_str()), nullptr};
    ::execv(exe.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(err_pipe[1]);
  std::string output;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(err_pipe[0], buffer, sizeof buffer);
    if (n > 0) {
      if (output.size() < (1u << 20)) output.append(buffer, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  ::close(err_pipe[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  const std::string where = dir + "/" + script;
  if (WIFSIGNALED(status))
    ECG_FAIL("gnuplot died of signal {} ({}) on {}", WTERMSIG(status), strsignal(WTERMSIG(status)), where);
  ECG_CHECK(WEXITSTATUS(status) != 127, "gnuplot not found ('{}' could not be run): apt install gnuplot-nox", exe);
  ECG_CHECK(WEXITSTATUS(status) != 126, "report: cannot enter {} to run gnuplot", dir);
  ECG_CHECK(WEXITSTATUS(status) == 0, "gnuplot failed (exit {}) on {}: {}", WEXITSTATUS(status), where,
            error_line(output));
}

}  // namespace ecg::report
