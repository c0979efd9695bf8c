// The command-line flags of the data-parallel engine, shared by `train` and `pretrain`, and the
// --device flag that `evaluate` and `predict` take too.
#pragma once

#include <CLI/CLI.hpp>

#include "engine/engine_options.h"

namespace ecg::launcher {

void add_engine_options(CLI::App& sub, engine::EngineOptions& o);
void add_device_option(CLI::App& sub, engine::DeviceChoice& device);

}  // namespace ecg::launcher
