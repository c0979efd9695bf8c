// Where the engine is in a run and what it has counted, beyond the weights and the optimiser: the
// stage, epoch and next step, the running epoch statistics, and throughput counters. A checkpoint
// carries it so that a resumed run equals an uninterrupted one. Per-sample randomness is a pure
// function of (seed, epoch, record), so there is no RNG stream to save. What a task keeps (its
// history, early stopping, best epoch) travels in the task's own part of the checkpoint.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>

#include "trainer/engine/engine_options.h"

namespace ecg::engine {

struct TrainState {
  int stage_index = 0;      // index into the task's stage plan
  int epoch = 0;            // 0-based within the stage
  int64_t step = 0;         // next step within the epoch
  int64_t global_step = 0;  // optimiser steps over the whole run
  double epoch_loss_sum = 0;
  int64_t epoch_loss_steps = 0;
  double epoch_seconds = 0;    // wall time of the current epoch before the checkpoint
  bool stopped_early = false;  // the task ended the current stage (early stopping)
  int64_t skipped_nonfinite = 0;
  int64_t samples_seen = 0;
  double train_seconds = 0;  // epochs' wall time incl. the tasks' end-of-epoch work
  double step_seconds = 0;   // optimiser steps only (data wait .. optimizer): throughput basis
  // Gradient all-reduce over the run (this rank): payload, first bucket launch -> last bucket
  // done, and the part of that spent blocked after backward (not hidden behind it).
  uint64_t allreduce_bytes = 0;
  double allreduce_seconds = 0;
  double allreduce_wait_seconds = 0;

  // Mean loss of the current epoch's optimiser steps (NaN before the first).
  double epoch_mean_loss() const;
  // Closes the current epoch: the next one starts at step 0 with fresh epoch statistics.
  void next_epoch();
  // Training samples per second of optimiser steps over all ranks (0 before the first step).
  double samples_per_second() const;
  // Share of the gradient all-reduce time overlapped with backward (NaN before any all-reduce).
  double allreduce_hidden_fraction() const;
};

void to_json(nlohmann::json& j, const TrainState& s);
void from_json(const nlohmann::json& j, TrainState& s);

// results.json's "gradient_allreduce": {dtype, bytes, seconds, wait_seconds, hidden_fraction}
// (rank 0's counters; hidden_fraction null when nothing was all-reduced, e.g. one rank).
nlohmann::json allreduce_json(const TrainState& s, GradDType wire);

}  // namespace ecg::engine
