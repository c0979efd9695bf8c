// Checkpoint files, in one place: ecgdist's own format (one LibTorch archive holding the model's
// state dict under ST-MEM parameter names, optionally the optimizer state, and a JSON document
// `meta` with the model config, task classes, the data's preprocessing manifest, the options and
// the training state; written atomically by rank 0) and the one explicit "whatever checkpoint
// this is" loader that --init, `evaluate`, `predict` and `export` use: ours, or a Python
// torch.save file (ST-MEM's encoder.pth, our export). Tensors on disk are CPU tensors.
#pragma once

#include <torch/torch.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/state_dict.h"

namespace ecg::model {

inline constexpr const char* kCheckpointFormat = "ecgdist-checkpoint";
inline constexpr int kCheckpointVersion = 1;


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

}  // namespace ecg::model
