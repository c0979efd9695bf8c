// The recipes of Zhou et al. (2025) as types, and the stage plan each one runs:
//   post-train    stage 1: linear probing (frozen encoder, head only, --lp-epochs at --lp-lr);
//                 stage 2: fine-tuning of everything from that head with stochastic depth
//                 (--drop-path, default 0.1) at --lr, early stopping on val macro AUROC.
//   fine-tune     the baseline: a new head, stage 2 only, no stochastic depth unless asked.
//   linear-probe  stage 1 only, up to --epochs with early stopping.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "monitoring/training_metrics.h"

namespace ecg::finetune {

enum class Recipe { post_train, fine_tune, linear_probe };

// JSON (options, results.json) and the CLI spell recipes as "post-train", "fine-tune",
// "linear-probe".
NLOHMANN_JSON_SERIALIZE_ENUM(Recipe, {{Recipe::post_train, "post-train"},
                                      {Recipe::fine_tune, "fine-tune"},
                                      {Recipe::linear_probe, "linear-probe"}})
const char* recipe_name(Recipe recipe);
const std::map<std::string, Recipe>& recipes_by_name();

// Stochastic depth when --drop-path is not given: the paper's regularisation belongs to
// post-training's stage 2; the fine-tuning baseline has none unless asked (the "w/o LP" ablation).
double default_drop_path(Recipe recipe);

struct TrainOptions;

// One stage of a recipe.
struct StagePlan {
  monitoring::Stage stage = monitoring::Stage::fine_tuning;
  int epochs = 0;
  double lr = 0;
  double drop_path = 0;
  bool head_only = false;       // the encoder is frozen (and in eval mode)
  bool early_stopping = false;  // on validation macro AUROC; the best epoch is the model tested
};

std::vector<StagePlan> plan_recipe(const TrainOptions& options);

}  // namespace ecg::finetune
