#include "launcher/fatal.h"

#include "common/log.h"

namespace ecg::launcher {
namespace {
std::function<void(int)>& abort_hook() {
  static std::function<void(int)> hook;
  return hook;
}
}  // namespace

void set_abort_hook(std::function<void(int exit_code)> hook) { abort_hook() = std::move(hook); }

int report_fatal(const std::string& message, const std::string& where) {
  std::string line = message.substr(0, message.find('\n'));
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (!where.empty() && ecg::log::enabled(ecg::log::Level::debug)) line += " [raised at " + where + "]";
  ecg::log::fatal(line);
  constexpr int kExitCode = 1;
  if (abort_hook()) abort_hook()(kExitCode);
  return kExitCode;
}

}  // namespace ecg::launcher
