// Subcommands register themselves (one file per command: launcher/cmd_<name>.cpp) so that main()
// does not need to know them and adding a command touches no shared file.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace ecg::launcher {

// Adds the command's options to `sub` (bound to state the closure owns) and returns the function
// that runs the command after parsing; its return value is the process exit code.
using CommandSetup = std::function<std::function<int()>(CLI::App& sub)>;

struct CommandSpec {
  std::string name;
  std::string description;
  int order;  // position in --help
  CommandSetup setup;
};

std::vector<CommandSpec>& command_registry();

struct RegisterCommand {
  explicit RegisterCommand(CommandSpec spec) { command_registry().push_back(std::move(spec)); }
};

}  // namespace ecg::launcher
