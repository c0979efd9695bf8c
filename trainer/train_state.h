// Everything beyond the weights and the optimiser that a checkpoint must carry for a resumed run
// to equal an uninterrupted one: where in the recipe we are (stage, epoch, next step), the
// running epoch statistics, early stopping, and the history so far. Per-sample randomness is a
// pure function of (seed, epoch, record), so there is no RNG stream to save.
#pragma once

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <vector>

#include "trainer/run_outputs.h"

namespace ecg::trainer {

struct TrainState {
  int stage_index = 0;      // index into the recipe's stage plan
  int epoch = 0;            // 0-based within the stage
  int64_t step = 0;         // next step within the epoch
  int64_t global_step = 0;  // optimiser steps over the whole run
  double epoch_loss_sum = 0;
  int64_t epoch_loss_steps = 0;
  double epoch_seconds = 0;  // wall time of the current epoch before the checkpoint
  // Early stopping on validation macro AUROC (EarlyStopping::to_json; null before the first
  // evaluation of a stage that uses it) and the best epoch it found.
  nlohmann::json early_stopping;
  double best_score = -std::numeric_limits<double>::infinity();
  int best_stage = 0;
  int best_epoch = 0;  // 1-based, 0 = none yet
  bool stopped_early = false;
  std::vector<HistoryRow> history;
  int64_t skipped_nonfinite = 0;
  int64_t samples_seen = 0;
  double train_seconds = 0;  // epochs' wall time incl. validation
  double step_seconds = 0;   // optimiser steps only (data wait .. optimizer): throughput basis

  // Mean loss of the current epoch's optimiser steps (NaN before the first).
  double epoch_mean_loss() const;
  // Closes the current epoch: the next one starts at step 0 with fresh epoch statistics.
  void next_epoch();
};

void to_json(nlohmann::json& j, const TrainState& s);
void from_json(const nlohmann::json& j, TrainState& s);

}  // namespace ecg::trainer
