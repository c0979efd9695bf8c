// ecgdist: one binary, one subcommand per job. main() owns the error idiom's last step: any
// ecg::Error (or other exception) escaping a command is printed as one line by the rank that hit
// it, and the process exits non-zero.
#include <algorithm>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <memory>

#include "common/allocator.h"
#include "common/error.h"
#include "common/log.h"
#include "launcher/command_registry.h"
#include "launcher/fatal.h"

namespace ecg::launcher {
std::vector<CommandSpec>& command_registry() {
  static std::vector<CommandSpec> registry;
  return registry;
}
}  // namespace ecg::launcher

int main(int argc, char** argv) {
  ecg::retain_freed_memory();
  using namespace ecg::launcher;
  CLI::App app{
      "ecgdist: distributed post-training of ECG foundation models (ST-MEM) on PTB-XL-style data"};
  app.set_version_flag("--version", std::string("ecgdist ") + ECGDIST_VERSION);
  app.require_subcommand(1);
  app.fallthrough(false);
  app.get_formatter()->column_width(40);

  auto& registry = command_registry();
  std::sort(registry.begin(), registry.end(),
            [](const CommandSpec& a, const CommandSpec& b) { return a.order < b.order; });
  std::vector<std::pair<CLI::App*, std::function<int()>>> commands;
  for (auto& spec : registry) {
    CLI::App* sub = app.add_subcommand(spec.name, spec.description);
    // Every flag's default is shown in `ecgdist <cmd> --help`.
    sub->option_defaults()->always_capture_default();
    commands.emplace_back(sub, spec.setup(*sub));
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  for (auto& [sub, run] : commands) {
    if (!sub->parsed()) continue;
    try {
      return run();
    } catch (const ecg::Error& e) {
      return report_fatal(e.message(), fmt::format("{}:{}", e.file(), e.line()));
    } catch (const std::exception& e) {
      return report_fatal(e.what(), "");
    }
  }
  return 2;
}
