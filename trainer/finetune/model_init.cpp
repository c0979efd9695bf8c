#include "trainer/finetune/model_init.h"

#include <filesystem>

#include <fmt/ranges.h>

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

namespace {

// Whether the --init file's head (of `outputs` rows) is kept, per options.init_head. `meta` is the
// file's (null for a foreign torch.save file).
bool keep_init_head(const nlohmann::json& meta, int64_t outputs, const TrainOptions& o, const TaskData& data) {
  if (o.init_head == InitHead::replace || outputs < 0) {
    ECG_CHECK(o.init_head != InitHead::keep, "--init-head keep, but --init {} has no classification head", o.init);
    return false;
  }
  const auto task_classes = data.classes();
  const std::vector<std::string> named = meta.is_object() ? meta.value("classes", std::vector<std::string>{})
                                                          : std::vector<std::string>{};
  if (!named.empty()) {
    if (named != task_classes) {
      ECG_CHECK(o.init_head != InitHead::keep, "--init-head keep, but --init {} was trained for classes [{}], not "
                "task {}'s [{}]", o.init, fmt::join(named, ","), data.labels.task, fmt::join(task_classes, ","));
      return false;
    }
  } else {
    if (o.init_head != InitHead::keep) {
      if (outputs == data.num_classes()) {
        log::info("--init {}: its {}-output head names no classes; a new head is trained (--init-head keep keeps it "
                  "when its outputs are task {}'s classes in order)", o.init, outputs, data.labels.task);
      }
      return false;
    }
    ECG_CHECK(outputs == data.num_classes(), "--init-head keep, but --init {} has {} outputs and task {} has {} "
              "classes", o.init, outputs, data.labels.task, data.num_classes());
  }
  return true;
}

}  // namespace

void load_init_weights(model::StMem& model, const TrainOptions& o, const TaskData& data) {
  const std::string& path = o.init;
  model::LoadedCheckpoint ck = model::load_any_checkpoint(path);
  if (!ck.meta.is_null() && ck.meta.contains("model_config")) {
    auto theirs = ck.meta.at("model_config").get<model::StMemConfig>();
    const auto& ours = model->config();
    ECG_CHECK(theirs.width == ours.width && theirs.depth == ours.depth && theirs.heads == ours.heads &&
                  theirs.mlp_dim == ours.mlp_dim,
              "--init {}: encoder is '{}' (width {}, depth {}) but --model is '{}' (width {}, depth {})",
              path, theirs.size, theirs.width, theirs.depth, ours.size, ours.width, ours.depth);
    // Its encoder learned the inputs its profile made (raw crops, or ST-MEM's filtered and
    // standardised ones): fed the other kind, it would start from features of other signals.
    const std::string kind = ck.meta.value("kind", ck.meta.value("source_kind", ""));  // an export: source_kind
    const InputProfile fed_with = ck.meta.contains("options") ? profile_from_options(ck.meta.at("options"), path)
                                                            : InputProfile::standard;
    ECG_CHECK(fed_with == o.profile,
              "--init {} was {} with --profile {}, but this run feeds --profile {}; {} with --profile {} (or train "
              "with --profile {})", path, kind == "training" ? "trained" : "pretrained",
              profile_name(fed_with), profile_name(o.profile),
              kind == "training" ? "train it" : "pretrain the encoder", profile_name(o.profile),
              profile_name(fed_with));
    if (ck.meta.contains("preprocessing")) {
      data::check_same_preprocessing(ck.meta.at("preprocessing"), data.file.manifest, path, data.file.path);
    }
  }
  const int64_t outputs = ck.state.count("head.weight") ? ck.state.at("head.weight").size(0) : -1;
  const bool keep_head = keep_init_head(ck.meta, outputs, o, data);
  std::map<std::string, torch::Tensor> weights;
  int dropped_head = 0;
  for (auto& [name, tensor] : ck.state) {
    if (!keep_head && name.rfind("head.", 0) == 0) {
      ++dropped_head;
      continue;
    }
    weights.emplace(name, tensor);
  }
  model::LoadOptions options;
  options.allow_missing_head = !keep_head;
  model::load_state_dict(model, weights, options);
  if (keep_head) {
    log::info("--init {}: loaded {} tensors, its head too (its classes are the task's)", path, weights.size());
  } else {
    log::info("--init {}: loaded {} encoder tensors{}", path, weights.size(),
              dropped_head ? " (its head was replaced by a new one for this task)" : "");
  }
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
