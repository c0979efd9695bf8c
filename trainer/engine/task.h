// The one seam between the engine and what it trains. A task (finetune/, pretrain/) says what to
// build, which stages to run, the loss of a batch, what happens at an epoch's end and what to
// write at the end; the engine (trainer/engine/engine.h) owns everything else: the communicator, the
// watchdog, metrics, the optimiser and its schedule, gradient buckets, the sampler, prefetch,
// checkpoints, resume and preemption. The engine includes no task; tasks never include each other.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "comm/communicator.h"
#include "trainer/engine/device.h"
#include "trainer/engine/engine_options.h"
#include "trainer/engine/run_monitor.h"
#include "trainer/engine/train_state.h"
#include "model/checkpoint.h"
#include "monitoring/training_metrics.h"
#include "sharding/prefetcher.h"

namespace ecg::comm {
class Watchdog;
}

namespace ecg::engine {

using monitoring::Stage;

// "pretraining", "stage 1", "stage 2": how errors and logs name a stage.
std::string describe(Stage stage);

// One stage of a task's plan: what the engine needs to build its optimiser and schedule.
struct StageSpec {
  Stage stage = Stage::fine_tuning;
  int epochs = 0;
  // The cosine's horizon in epochs (0 = `epochs`): the learning rate reaches min_lr after this many
  // epochs and stays there. Early stopping ends a stage at an epoch chosen by validation, not here.
  int schedule_epochs = 0;
  double lr = 1e-4;               // peak of the warmup + cosine schedule over the stage's steps
  double min_lr = 0;
  double warmup_fraction = 0;
  double weight_decay = 0;
  double layer_decay = 1.0;       // 1 = off
  int depth = 0;                  // transformer blocks (layer ids of layer-wise lr decay)
  double beta1 = 0.9;
  double beta2 = 0.999;
};

// The records a task trains on and how the prefetcher turns them into batches.
struct TrainingInput {
  std::string path;                      // preprocessed HDF5 file
  std::vector<int64_t> records;          // indices into /signals
  data::LabelMatrix labels;          // empty: unlabelled batches
  std::vector<int> lead_rows;            // rows of /signals fed to the model; empty = all
  int64_t crop_length = 0;
  int64_t batch_size = 0;                // global
  uint64_t seed = 0;                     // the epoch permutations' seed
  // Per-sample transform on the prefetcher's workers; empty = the random crop
  // (sharding::random_crop_transform).
  sharding::SampleTransform transform;
};

// What a task may use while the engine runs it (all owned by the engine).
struct RunContext {
  comm::Communicator& comm;
  const EngineOptions& options;
  torch::Device device;  // where the model lives (the engine moved it there after build_model)
  comm::Watchdog* watchdog;
  RunMonitor& monitor;
  const TrainState& state;
};

// An epoch just ended (its optimiser steps are done; no evaluation yet).
struct EpochEnd {
  size_t stage_index = 0;
  const StageSpec* stage = nullptr;
  int epoch = 0;              // 1-based within the stage
  double train_loss = 0;      // mean over the epoch's optimiser steps
  double lr = 0;              // of the epoch's last step
  double training_seconds = 0;  // the epoch's steps (evaluation comes on top)
};

class Task {
 public:
  virtual ~Task() = default;

  // The subcommand ("train", "pretrain"): logs and error messages.
  virtual const char* command() const = 0;
  // Every setting of the run, resolved (rank 0 logs it after prepare()).
  virtual nlohmann::json options_json() const = 0;
  // After the engine has started (stop signal, threads, run directory, watchdog): read and check
  // the data, log the resolved configuration.
  virtual void prepare(const RunContext& run) = 0;
  // The model, initialised (e.g. from --init) on the CPU and set to options.precision; the
  // engine then moves it to the run's device and broadcasts rank 0's weights.
  virtual torch::nn::Module& build_model(const RunContext& run) = 0;
  virtual std::vector<StageSpec> plan() const = 0;
  virtual TrainingInput training_input() const = 0;

  // Fresh start (no checkpoint to resume): e.g. a held-out loss before any step.
  virtual void begin(const RunContext& run) {}
  // Resume: refuse a checkpoint of another run (naming `path` and the setting), then load its
  // weights and the task's own state from `checkpoint` (written with checkpoint_meta()).
  virtual void resume(const RunContext& run, const model::LoadedCheckpoint& checkpoint,
                      const std::string& path) = 0;

  // Before stage `index` of plan(): freeze / unfreeze, regularisation. Returns the parameters to
  // train, by state-dict name, in registration order.
  virtual model::NamedTensors start_stage(size_t index) = 0;
  // The loss of one batch already on the device (forward pass, model in the right mode), a
  // float scalar; the engine runs backward.
  virtual torch::Tensor loss(const DeviceBatch& batch, size_t stage_index) = 0;
  // Evaluation, history, early stopping. Returns true when the stage should end now.
  virtual bool end_epoch(const RunContext& run, const EpochEnd& end) = 0;

  // The task's part of every training checkpoint: kind, configs, options, its own state.
  virtual nlohmann::json checkpoint_meta() const = 0;
  // After the last stage: write the run's outputs (the engine waits for all ranks afterwards).
  virtual void finish(const RunContext& run) = 0;
};

}  // namespace ecg::engine
