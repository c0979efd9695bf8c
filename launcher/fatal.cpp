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
  if (where.empty()) {
    ecg::log::error("{}", message);
  } else {
    ecg::log::error("{} ({})", message, where);
  }
  constexpr int kExitCode = 1;
  if (abort_hook()) abort_hook()(kExitCode);
  return kExitCode;
}

}  // namespace ecg::launcher
