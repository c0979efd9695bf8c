// The command-line flags of the data-parallel engine, shared by `train` and `pretrain`, and the
// --device flag that `evaluate` and `predict` take too.
#pragma once

#include <CLI/CLI.hpp>

#include <optional>

#include "trainer/engine/engine_options.h"
#include "trainer/finetune/profile_defaults.h"

namespace ecg::launcher {

void add_engine_options(CLI::App& sub, engine::EngineOptions& o);
void add_device_option(CLI::App& sub, engine::DeviceChoice& device);

// --profile of `evaluate` and `predict`: unset unless given, because a checkpoint that records its
// pipeline must not be overridden silently and one that records none must be told
// (finetune::resolve_profile).
void add_inference_profile_option(CLI::App& sub, std::optional<finetune::InputProfile>& profile);

// --task: a label set stored in the data file (PTB-XL's six, `dx`/`scored` from Challenge data, a
// user's --snomed-task); the file's list is checked when it is opened. Here only its shape: a name
// that is safe in run folders and file names.
CLI::Validator task_name_check();

// --backend and --device that cannot work together, refused before MPI starts: NCCL all-reduces
// GPU memory, so `--backend nccl --device cpu` has nothing to reduce with it.
void check_backend_device(const engine::EngineOptions& o);

}  // namespace ecg::launcher
