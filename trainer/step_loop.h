// The parts of the training loop that `train` and `pretrain` share, so that both run on exactly
// the same engine: completing one optimiser step after backward (gradient all-reduce wait, the
// per-step cross-rank agreement, the non-finite rule, the optimiser step, state and metrics), and
// driving one epoch's batches (data wait under the watchdog, parameter checksums, stop requests,
// periodic checkpoints). Each command keeps its own forward pass, evaluation and outputs.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "comm/communicator.h"
#include "monitoring/training_metrics.h"
#include "sharding/prefetcher.h"
#include "trainer/engine_options.h"
#include "trainer/grad_buckets.h"
#include "trainer/run_monitor.h"
#include "trainer/train_state.h"

namespace ecg::comm {
class Watchdog;
}

namespace ecg::trainer {

struct StepLoop {
  comm::Communicator& comm;
  const EngineOptions& options;
  comm::Watchdog* watchdog;
  RunMonitor& monitor;
  TrainState& state;
  int64_t global_batch = 0;  // samples per optimiser step over all ranks
};

// After loss.backward() on every rank: waits for `buckets` (null on one rank), agrees with the
// other ranks on loss / non-finite / stop, steps `optimizer` unless a rank's loss was not finite
// (then: an error naming the step, `what` (e.g. "stage 2") and the ranks, or a counted skip with
// --skip-nonfinite), advances the state and reports the step. `times` carries the data wait,
// forward and backward slices already measured.
void complete_step(StepLoop& loop, GradBuckets* buckets, torch::optim::Optimizer& optimizer,
                   const torch::Tensor& loss, monitoring::StepTimes times, int64_t local_samples,
                   double lr, const std::string& what);

// Runs `prefetcher`'s remaining batches through `step` (which ends with complete_step). Every
// --checksum-every steps the ranks compare a parameter checksum of `model`; every
// --checkpoint-every steps `checkpoint` runs (not at the epoch's last step: the caller writes
// that one). Returns false when a stop request ended the epoch early. Adds the epoch's wall time
// to state.epoch_seconds.
bool run_batches(StepLoop& loop, sharding::Prefetcher& prefetcher, const torch::nn::Module& model,
                 int64_t steps_per_epoch, const std::function<void(sharding::Batch&)>& step,
                 const std::function<void()>& checkpoint);

// The start every run shares: the stop-signal handler, threads per rank, RUN_DIR (made by rank 0,
// then a barrier) and the watchdog that aborts the job when a phase overruns --timeout.
std::unique_ptr<comm::Watchdog> start_engine(comm::Communicator& comm, const EngineOptions& options);

// Rank 0 writes RUN_DIR/checkpoints/step-<global step>.ckpt atomically (meta + model state +
// optimizer state) and keeps the newest two; every rank waits for it.
void write_step_checkpoint(StepLoop& loop, const nlohmann::json& meta, torch::nn::Module& model,
                           torch::optim::Optimizer& optimizer);

}  // namespace ecg::trainer
