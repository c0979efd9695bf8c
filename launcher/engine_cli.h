// The command-line flags of the data-parallel engine, shared by `train` and `pretrain`.
#pragma once

#include <CLI/CLI.hpp>

#include "engine/engine_options.h"

namespace ecg::launcher {

void add_engine_options(CLI::App& sub, engine::EngineOptions& o);

}  // namespace ecg::launcher
