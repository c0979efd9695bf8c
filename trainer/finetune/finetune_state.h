// What the fine-tuning task keeps across epochs and checkpoints, beside the engine's own state:
// the history (one row per epoch of each stage), early stopping on validation macro AUROC and
// the best epoch it found (the model that is tested).
#pragma once

#include <limits>
#include <nlohmann/json.hpp>
#include <vector>

#include "eval/run_outputs.h"

namespace ecg::finetune {

struct FinetuneState {
  std::vector<eval::HistoryRow> history;
  // EarlyStopping::to_json of the current stage (null before its first evaluation).
  nlohmann::json early_stopping;
  double best_score = -std::numeric_limits<double>::infinity();
  int best_stage = 0;
  int best_epoch = 0;          // 1-based, 0 = none yet
  bool stopped_early = false;  // some stage ended by early stopping
  // The epoch at which patience ran out (0 = never). With --record-after-stop training goes on
  // past it and best_epoch stays frozen.
  int early_stop_epoch = 0;
};

void to_json(nlohmann::json& j, const FinetuneState& s);
void from_json(const nlohmann::json& j, FinetuneState& s);

}  // namespace ecg::finetune
