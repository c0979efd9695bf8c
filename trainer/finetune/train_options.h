// Every setting of `ecgdist train` in one struct: the CLI binds to it, rank 0 prints it resolved,
// results.json and checkpoints carry it as JSON.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "trainer/engine/engine_options.h"
#include "model/st_mem_config.h"
#include "trainer/finetune/profile_defaults.h"
#include "trainer/finetune/recipe.h"

namespace ecg::finetune {

// What --init does with the file's classification head (trainer/finetune/model_init.h).
//   auto  keep it when the file names the same classes as the task (ours, our exports), else a new one
//   keep  keep it (a torch.save file names no classes: the user states its outputs are the task's,
//         in order; the count is checked), refused when it cannot be the task's
//   new   always a new head
enum class InitHead { automatic, keep, replace };
NLOHMANN_JSON_SERIALIZE_ENUM(InitHead, {{InitHead::automatic, "auto"}, {InitHead::keep, "keep"},
                                        {InitHead::replace, "new"}})

struct TrainOptions : engine::EngineOptions {
  // Data and task.
  std::string data;                  // preprocessed HDF5 file
  InputProfile profile = InputProfile::standard;  // input pipeline (trainer/finetune/profile_defaults.h)
  // "field=value" for each default the profile set (the user's explicit flags always win).
  std::vector<std::string> from_profile;
  std::string task = "superdiagnostic";
  std::vector<std::string> leads;    // empty = all 12 in standard order
  double train_fraction = 1.0;       // nested, label-stratified subset of folds 1-8
  std::vector<int> train_folds = {1, 2, 3, 4, 5, 6, 7, 8};
  int val_fold = 9;
  int test_fold = 10;

  // Model.
  std::string model = "tiny";        // tiny | small | base
  std::string init;                  // encoder checkpoint (ours or ST-MEM's torch.save)
  InitHead init_head = InitHead::automatic;
  double dropout = 0.0;

  // Recipe.
  Recipe recipe = Recipe::post_train;
  int lp_epochs = 5;                 // stage 1 (post-train); 0 = "w/o LP" ablation
  double lp_lr = 1e-3;
  int epochs = 50;                   // stage 2 upper bound (early stopping on val macro AUROC)
  int patience = 5;
  // Keep training and recording validation up to --epochs after patience ran out (the validation
  // curve of the paper's Figure 3 past the stopping point). The model tested is still the
  // early-stopped one: the best epoch up to the stop; later epochs are recorded, never selected.
  bool record_after_stop = false;
  // Epochs over which the early-stopped stage's cosine decays to min_lr (0 = --epochs, the
  // published MAE/ST-MEM convention). Early stopping usually ends that stage long before --epochs,
  // so with the default the selected model was trained near the peak lr; a horizon near the
  // expected stopping epoch anneals it first (docs/training.md, "The learning-rate horizon").
  int lr_horizon = 0;
  double lr = 1e-4;
  double min_lr = 1e-6;
  double warmup_fraction = 0.05;     // of each stage's steps
  double weight_decay = 0.05;
  double layer_decay = 1.0;          // 1 = off
  double drop_path = -1;             // <0: recipe default (post-train 0.1, others 0); 0 = "w/o SD"
  int batch_size = 64;               // global batch (split across ranks)
  int eval_crops = 3;
  int crop_length = static_cast<int>(model::kInputSamples);  // 9 s at 250 Hz (ST-MEM input)
  int bootstrap = 1000;
  uint64_t seed = 0;
};

void to_json(nlohmann::json& j, const TrainOptions& o);
void from_json(const nlohmann::json& j, TrainOptions& o);

// Throws ecg::Error naming the flag when a value is out of range.
void validate(const TrainOptions& o);

// Fills recipe-dependent defaults (drop-path) and normalises lead names; call before validate.
void resolve_defaults(TrainOptions& o);

}  // namespace ecg::finetune
