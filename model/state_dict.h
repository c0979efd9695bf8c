// State dicts: finding one inside a torch.save'd object, strict loading into an StMem (missing,
// unexpected and mis-shaped keys are ONE error listing them all: a loader must never keep random
// weights silently), and inferring the architecture from the shapes
// (model/checkpoint.h reads whole checkpoint files).
#pragma once

#include <ATen/Tensor.h>

#include <functional>
#include <map>
#include <optional>
#include <string>

#include "model/st_mem.h"
#include "model/torch_save_reader.h"
#include "model/torch_save_writer.h"

namespace ecg::model {

using StateDict = std::map<std::string, at::Tensor>;

// The state dict inside a torch.save'd object: the top-level dict if its values are tensors,
// else the dict under 'model' or 'state_dict' (ST-MEM's encoder.pth is {'model': sd, ...}).
// A 'module.' prefix (DDP) is stripped when every key has it. `origin` names the file in errors.
StateDict find_state_dict(const PickleValue& root, const std::string& origin);

// read_torch_save + find_state_dict.
StateDict read_torch_save_state_dict(const std::string& path);

// The model's parameters and buffers under their state-dict names, in registration order.
NamedTensors model_state_dict(const StMem& model);

struct LoadOptions {
  // The checkpoint may lack head.* (a pre-trained encoder); a head whose shape differs (another
  // task's classes) is then skipped with a warning. The model keeps its freshly initialised head.
  bool allow_missing_head = false;
};

// Copies every tensor into the model (converted to each parameter's dtype and device). Throws one
// ecg::Error listing missing keys, unexpected keys and shape mismatches before copying anything.
void load_state_dict(StMem& model, const StateDict& state, const LoadOptions& options = {});
// The same for any module (e.g. the pretraining model); `what` names it in the error.
void load_module_state(torch::nn::Module& module, const StateDict& state, const std::string& what,
                       const LoadOptions& options = {});

// The architecture a state dict was saved from (width, depth, heads from qkv / 64, MLP width,
// patch size, number of patches, classes from head.weight; size named when it matches a
// preset). Leads default to all 12 (the checkpoint does not record the selection).
StMemConfig infer_config(const StateDict& state, const std::string& origin);

}  // namespace ecg::model
