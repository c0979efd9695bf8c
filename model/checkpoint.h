// Checkpoint files, in one place: ecgdist's own format (one LibTorch archive holding the model's
// state dict under ST-MEM parameter names, optionally the optimizer state, and a JSON document
// `meta` with the model config, task classes, the data's preprocessing manifest, the options and
// the training state; written atomically by rank 0) and the one explicit "whatever checkpoint
// this is" loader that --init, `evaluate`, `predict` and `export` use: ours, or a Python
// torch.save file (ST-MEM's encoder.pth, our export). Tensors on disk are CPU tensors.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/state_dict.h"

namespace ecg::model {

inline constexpr const char* kCheckpointFormat = "ecgdist-checkpoint";
inline constexpr int kCheckpointVersion = 1;

// `export` writes a torch.save file, which has no place for our meta; without it `evaluate` and
// `predict` could not check an exported model against the data it meets (preprocessing, task,
// classes, profile). So the .pt carries the meta's model-describing part as one more zip record,
// JSON, beside data.pkl: torch.load reads only data.pkl and the storages it names, so the file
// stays loadable by PyTorch.
inline constexpr const char* kExportMetaRecord = "ecgdist/meta.json";
inline constexpr const char* kExportMetaFormat = "ecgdist-export-meta";
inline constexpr int kExportMetaVersion = 1;
// The record holds a few kB (options, manifest, classes); the bound stops a hostile file from
// making us allocate its whole size for it.
inline constexpr uint64_t kMaxExportMetaBytes = uint64_t{1} << 20;

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
// what `--init`, `export`, `evaluate` and `predict` accept. `meta` is the checkpoint's meta, the
// export's kExportMetaRecord for a torch.save file that has one, else null (a foreign file, or an
// export whose record was removed: nothing says how its training data was preprocessed).
LoadedCheckpoint load_any_checkpoint(const std::string& path);

// What an export keeps of a checkpoint's meta (null when it has none): model_config, task,
// classes, preprocessing, options (crop_length, profile), and the source's kind as source_kind.
nlohmann::json export_meta(const nlohmann::json& checkpoint_meta);

// The kExportMetaRecord of the torch.save file at `path`, or null when it has none. Errors (not
// JSON, another format or version) name the file and the record.
nlohmann::json read_export_meta(const std::string& path);

}  // namespace ecg::model
