#include "trainer/finetune/model_init.h"

#include <filesystem>

#include "common/error.h"
#include "common/log.h"
#include "data/manifest.h"
#include "model/state_dict.h"
#include "trainer/engine/checkpoint_files.h"
#include "model/checkpoint.h"

namespace ecg::finetune {

void load_model_state(model::StMem& model, const std::map<std::string, torch::Tensor>& state,
                      const std::string& source) {
  try {
    model::load_state_dict(model, state, model::LoadOptions{});
  } catch (const Error& e) {
    ECG_FAIL("{}: {}", source, e.message());
  }
}

void load_init_weights(model::StMem& model, const std::string& path, const TaskData& data) {
  model::LoadedCheckpoint ck = model::load_any_checkpoint(path);
  if (!ck.meta.is_null() && ck.meta.contains("model_config")) {
    auto theirs = ck.meta.at("model_config").get<model::StMemConfig>();
    const auto& ours = model->config();
    ECG_CHECK(theirs.width == ours.width && theirs.depth == ours.depth && theirs.heads == ours.heads &&
                  theirs.mlp_dim == ours.mlp_dim,
              "--init {}: encoder is '{}' (width {}, depth {}) but --model is '{}' (width {}, depth {})",
              path, theirs.size, theirs.width, theirs.depth, ours.size, ours.width, ours.depth);
    if (ck.meta.contains("preprocessing")) {
      data::check_same_preprocessing(ck.meta.at("preprocessing"), data.file.manifest, path, data.file.path);
    }
  }
  // The head belongs to the new task: whatever head the file has is not used.
  std::map<std::string, torch::Tensor> encoder;
  int dropped_head = 0;
  for (auto& [name, tensor] : ck.state) {
    if (name.rfind("head.", 0) == 0) {
      ++dropped_head;
      continue;
    }
    encoder.emplace(name, tensor);
  }
  model::LoadOptions options;
  options.allow_missing_head = true;
  model::load_state_dict(model, encoder, options);
  log::info("--init {}: loaded {} encoder tensors{}", path, encoder.size(),
            dropped_head ? " (its head was replaced by a new one for this task)" : "");
}

void check_resume_compatible(const nlohmann::json& meta, const TrainOptions& options,
                             const TaskData& data, const std::string& path) {
  ECG_CHECK(meta.value("kind", "") == "training", "--resume {}: not a training checkpoint", path);
  // Settings that change the trajectory; world size, threads, timeouts and paths may change.
  nlohmann::json saved = meta.at("options");
  if (!saved.contains("profile")) saved["profile"] = InputProfile::standard;  // written before --profile existed
  engine::check_same_settings(saved, nlohmann::json(options),
                      {"task", "recipe", "model", "seed", "batch_size", "lr", "lp_lr", "epochs", "lp_epochs",
                       "drop_path", "train_fraction", "leads", "weight_decay", "layer_decay", "warmup_fraction",
                       "min_lr", "crop_length", "patience", "profile"},
                      path);
  // Checkpoints written before --lr-horizon existed had the default horizon (= --epochs).
  const int saved_horizon = meta.at("options").value("lr_horizon", 0);
  ECG_CHECK(saved_horizon == options.lr_horizon, "--resume {}: checkpoint has lr_horizon = {} but this run has {}",
            path, saved_horizon, options.lr_horizon);
  ECG_CHECK(meta.at("classes").get<std::vector<std::string>>() == data.classes(),
            "--resume {}: checkpoint classes differ from the data's classes for task {}", path, data.labels.task);
  data::check_same_preprocessing(meta.at("preprocessing"), data.file.manifest, path, data.file.path);
}

}  // namespace ecg::finetune
