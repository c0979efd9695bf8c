// The engine's checkpoints in RUN_DIR/checkpoints: their names, the newest complete one, pruning,
// which one --resume selects, the settings a resumed run must share with the checkpoint, and the
// model snapshots they are written from (model/checkpoint.h holds the file format).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "trainer/engine/engine_options.h"
#include "model/checkpoint.h"

namespace ecg::engine {

std::string step_checkpoint_path(const std::string& run_dir, int64_t global_step);

// Newest complete training checkpoint in RUN_DIR/checkpoints ("" when none).
std::string newest_checkpoint(const std::string& run_dir);

// After a failed run that created RUN_DIR: removes it when it holds no file but this process's own
// temp files ("*.tmp.<pid>") -- only empty folders (e.g. checkpoints/) are left by then. A folder
// with any other file is kept whole (complete checkpoints resume, and nothing a user put there is
// touched). Never throws.
void remove_run_dir_without_files(const std::string& run_dir);

// Keeps the newest `keep` step checkpoints in RUN_DIR/checkpoints, deletes older ones.
void prune_checkpoints(const std::string& run_dir, int keep);

// "" (fresh start), or the checkpoint --resume selects ("auto": newest in --out, if any).
std::string resolve_resume_path(const EngineOptions& options);

// A resumed run must be the same run: each of `keys` must be equal in the checkpoint's options
// and this run's (the error names the key, both values and the checkpoint).
void check_same_settings(const nlohmann::json& saved, const nlohmann::json& now,
                         std::initializer_list<const char*> keys, const std::string& path);

// Parameters and buffers by state-dict name, cloned (a snapshot that later steps do not change).
model::NamedTensors snapshot_state(torch::nn::Module& model);

// Parameters that require grad, in registration order.
std::vector<torch::Tensor> trainable_in_registration_order(torch::nn::Module& model);

}  // namespace ecg::engine
