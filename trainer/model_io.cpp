#include "trainer/model_io.h"

#include <filesystem>

#include "common/error.h"
#include "common/log.h"
#include "data/manifest.h"
#include "model/state_dict.h"
#include "trainer/checkpoint.h"

namespace ecg::trainer {

StateList snapshot_state(torch::nn::Module& model) {
  StateList out;
  torch::NoGradGuard no_grad;
  for (const auto& item : model.named_parameters()) out.emplace_back(item.key(), item.value().detach().clone());
  for (const auto& item : model.named_buffers()) out.emplace_back(item.key(), item.value().detach().clone());
  return out;
}

void load_model_state(model::StMem& model, const std::map<std::string, torch::Tensor>& state,
                      const std::string& source) {
  try {
    model::load_state_dict(model, state, model::LoadOptions{});
  } catch (const Error& e) {
    ECG_FAIL("{}: {}", source, e.message());
  }
}

void check_manifest_matches(const nlohmann::json& checkpoint_manifest, const nlohmann::json& data_manifest,
                            const std::string& checkpoint_path, const std::string& data_path) {
  if (checkpoint_manifest.is_null()) return;
  auto a = data::manifest_from_json(checkpoint_manifest, checkpoint_path);
  auto b = data::manifest_from_json(data_manifest, data_path);
  std::string why = data::describe_mismatch(a, b);
  ECG_CHECK(why.empty(), "{} was trained on data prepared differently from {}: {}", checkpoint_path,
            data_path, why);
}

void load_init_weights(model::StMem& model, const std::string& path, const TaskData& data) {
  LoadedCheckpoint ck = load_any_checkpoint(path);
  if (!ck.meta.is_null() && ck.meta.contains("model_config")) {
    auto theirs = ck.meta.at("model_config").get<model::StMemConfig>();
    const auto& ours = model->config();
    ECG_CHECK(theirs.width == ours.width && theirs.depth == ours.depth && theirs.heads == ours.heads &&
                  theirs.mlp_dim == ours.mlp_dim,
              "--init {}: encoder is '{}' (width {}, depth {}) but --model is '{}' (width {}, depth {})",
              path, theirs.size, theirs.width, theirs.depth, ours.size, ours.width, ours.depth);
    if (ck.meta.contains("preprocessing")) {
      check_manifest_matches(ck.meta.at("preprocessing"), data.manifest, path, data.path);
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

void check_data_for_model(const TaskData& data) {
  ECG_CHECK(data.sampling_rate == 250,
            "{}: sampling_rate is {} Hz; ST-MEM takes 250 Hz input (preprocess with --target-rate 250)",
            data.path, data.sampling_rate);
  const auto standard = model::standard_lead_names();
  ECG_CHECK(data.leads.size() == standard.size(), "{}: attribute 'leads' has {} leads, expected 12",
            data.path, data.leads.size());
  for (size_t i = 0; i < standard.size(); ++i) {
    ECG_CHECK(model::standard_lead_index(data.leads[i]) == static_cast<int64_t>(i),
              "{}: lead {} is '{}', expected '{}' (standard order I..V6)", data.path, i, data.leads[i],
              standard[i]);
  }
}

std::string resolve_resume_path(const EngineOptions& options) {
  if (options.resume.empty()) return "";
  if (options.resume == "auto") {
    std::string path = newest_checkpoint(options.out);
    if (path.empty()) log::info("--resume auto: no checkpoint in {}, starting fresh", options.out);
    return path;
  }
  ECG_CHECK(std::filesystem::exists(options.resume), "--resume {}: no such checkpoint", options.resume);
  return options.resume;
}

void check_same_settings(const nlohmann::json& saved, const nlohmann::json& now,
                         std::initializer_list<const char*> keys, const std::string& path) {
  for (const char* key : keys) {
    ECG_CHECK(saved.value(key, nlohmann::json()) == now.value(key, nlohmann::json()),
              "--resume {}: checkpoint has {} = {} but this run has {}", path, key,
              saved.value(key, nlohmann::json()).dump(), now.value(key, nlohmann::json()).dump());
  }
}

void check_resume_compatible(const nlohmann::json& meta, const TrainOptions& options,
                             const TaskData& data, const std::string& path) {
  ECG_CHECK(meta.value("kind", "") == "training", "--resume {}: not a training checkpoint", path);
  // Settings that change the trajectory; world size, threads, timeouts and paths may change.
  check_same_settings(meta.at("options"), nlohmann::json(options),
                      {"task", "recipe", "model", "seed", "batch_size", "lr", "lp_lr", "epochs", "lp_epochs",
                       "drop_path", "train_fraction", "leads", "weight_decay", "layer_decay", "warmup_fraction",
                       "min_lr", "crop_length", "patience"},
                      path);
  ECG_CHECK(meta.at("classes").get<std::vector<std::string>>() == data.classes,
            "--resume {}: checkpoint classes differ from the data's classes for task {}", path, data.task);
  check_manifest_matches(meta.at("preprocessing"), data.manifest, path, data.path);
}

std::vector<torch::Tensor> trainable_in_registration_order(torch::nn::Module& model) {
  std::vector<torch::Tensor> out;
  for (const auto& p : model.parameters()) {
    if (p.requires_grad()) out.push_back(p);
  }
  return out;
}

}  // namespace ecg::trainer
