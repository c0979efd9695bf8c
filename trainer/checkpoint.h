// ecgdist's own checkpoint file: one LibTorch archive holding the model's state dict (ST-MEM
// parameter names), optionally the optimizer state, and a JSON document (`meta`) with the model
// config, task classes, the data's preprocessing manifest, the options and the training state
// (stage, epoch, step, early-stopping state, history). Written atomically by rank 0.
#pragma once

#include <torch/torch.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace ecg::trainer {

inline constexpr const char* kCheckpointFormat = "ecgdist-checkpoint";
inline constexpr int kCheckpointVersion = 1;

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

// Writes `path` atomically (temp name, fsync, rename).
void save_checkpoint(const std::string& path, const nlohmann::json& meta, const NamedTensors& state,
                     torch::optim::Optimizer* optimizer);

struct LoadedCheckpoint {
  nlohmann::json meta;
  std::map<std::string, torch::Tensor> state;
};

// Reads an ecgdist checkpoint; loads the optimizer state into `optimizer` when given (it must hold
// the same parameter groups as when saved). Errors name the file.
LoadedCheckpoint load_checkpoint(const std::string& path, torch::optim::Optimizer* optimizer = nullptr);

// True when `path` is an ecgdist checkpoint (as opposed to a Python torch.save file).
bool is_ecgdist_checkpoint(const std::string& path);

// Model state of an ecgdist checkpoint or of a torch.save file (ST-MEM's encoder.pth, our export):
// what `--init`, `export`, `evaluate` and `predict` accept. `meta` is empty for torch.save files.
LoadedCheckpoint load_any_checkpoint(const std::string& path);

// Newest complete training checkpoint in RUN_DIR/checkpoints ("" when none).
std::string newest_checkpoint(const std::string& run_dir);

// Keeps the newest `keep` step checkpoints in RUN_DIR/checkpoints, deletes older ones.
void prune_checkpoints(const std::string& run_dir, int keep);

std::string step_checkpoint_path(const std::string& run_dir, int64_t global_step);

}  // namespace ecg::trainer
