// Moving weights between files and the model for the trainer: --init (strict, never silently
// random), resume, the best-validation snapshot, and the compatibility checks that refuse a
// checkpoint trained on data prepared differently.
#pragma once

#include <initializer_list>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/st_mem.h"
#include "trainer/task_data.h"
#include "trainer/train_options.h"

namespace ecg::trainer {

using StateList = std::vector<std::pair<std::string, torch::Tensor>>;

// Parameters and buffers by state-dict name, cloned (a snapshot that later steps do not change).
StateList snapshot_state(torch::nn::Module& model);

// Strict: every model tensor present with the same shape, nothing unexpected. `source` names the
// file in errors.
void load_model_state(model::StMem& model, const std::map<std::string, torch::Tensor>& state,
                      const std::string& source);

// --init: an encoder from an ecgdist checkpoint or a torch.save file (ST-MEM's encoder.pth, our
// export). The head is new (the task's classes); every encoder tensor must be present. An
// ecgdist checkpoint's preprocessing manifest must match the data's, and its architecture the
// chosen --model.
void load_init_weights(model::StMem& model, const std::string& path, const TaskData& data);

// Refuses data that is not what an ST-MEM encoder expects (rate, lead names, length).
void check_data_for_model(const TaskData& data);

// Refuses a checkpoint whose recorded preprocessing differs from the data's; names the field.
void check_manifest_matches(const nlohmann::json& checkpoint_manifest, const nlohmann::json& data_manifest,
                            const std::string& checkpoint_path, const std::string& data_path);

// "" (fresh start), or the checkpoint --resume selects ("auto": newest in --out, if any).
std::string resolve_resume_path(const EngineOptions& options);

// A resumed run must be the same run: each of `keys` must be equal in the checkpoint's options
// and this run's (the error names the key, both values and the checkpoint).
void check_same_settings(const nlohmann::json& saved, const nlohmann::json& now,
                         std::initializer_list<const char*> keys, const std::string& path);

// A resumed run must be the same run: task, recipe, model, seed, batch and schedule settings.
void check_resume_compatible(const nlohmann::json& meta, const TrainOptions& options,
                             const TaskData& data, const std::string& path);

// Parameters that require grad, in registration order.
std::vector<torch::Tensor> trainable_in_registration_order(torch::nn::Module& model);

}  // namespace ecg::trainer
