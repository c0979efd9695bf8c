// THE training loop of ecgdist. `train` and `pretrain` are tasks (trainer/engine/task.h) that plug into
// it; the engine owns what every data-parallel run shares and reads top to bottom in engine.cpp:
//
//   start      stop-signal handler, threads per rank, RUN_DIR, watchdog, metrics exporter
//   build      task.prepare -> task.build_model -> broadcast rank 0's weights
//   resume     --resume auto|PATH: engine state + task.resume (weights, the task's own state);
//              the optimiser state is loaded when its stage starts
//   stages     for each StageSpec of task.plan(): parameter groups + AdamW, gradient buckets
//              (only for what trains), the epoch sampler, the warmup + cosine schedule
//   epochs     prefetched batches -> task.loss -> backward (buckets all-reduce while it runs)
//              -> per-step agreement (loss, non-finite, stop) -> optimiser step -> metrics;
//              parameter checksums and periodic checkpoints; task.end_epoch; a checkpoint
//   stop       a stop signal or --max-steps: one checkpoint at a step boundary on every rank,
//              exit code kPreemptedExitCode
//   finish     task.finish, then every rank waits for the outputs
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "comm/communicator.h"
#include "trainer/engine/device.h"
#include "trainer/engine/engine_options.h"
#include "trainer/engine/grad_buckets.h"
#include "trainer/engine/param_groups.h"
#include "trainer/engine/run_monitor.h"
#include "trainer/engine/schedule.h"
#include "trainer/engine/task.h"
#include "trainer/engine/train_state.h"
#include "monitoring/metrics_options.h"
#include "sharding/epoch_sampler.h"

namespace ecg::comm {
class Watchdog;
}

namespace ecg::engine {

// The sampler's epoch key of (stage, epoch): distinct permutations per stage, stable across
// resumes and world sizes.
int64_t sampler_epoch_key(Stage stage, int epoch);

class Engine {
 public:
  // `options` must outlive the engine (it is usually a field of the task's own options).
  Engine(comm::Communicator& comm, const EngineOptions& options,
         const monitoring::MetricsOptions& metrics_options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Runs `task` to the end. Returns 0, or kPreemptedExitCode after a stop-signal checkpoint.
  // The run folder (--out) is created only once the task's inputs are validated; when the run
  // fails, a folder it created and left without a file is removed again.
  int run(Task& task);

  const TrainState& state() const { return state_; }

 private:
  RunContext context();
  int run_task(Task& task);
  void start();
  void create_run_directory();
  void resume(Task& task);
  void start_stage(Task& task, size_t index);
  bool run_epoch(Task& task, size_t index);  // false: a stop request ended it early
  void complete_step(const torch::Tensor& loss, monitoring::StepTimes times, int64_t local_samples,
                     double lr, Stage stage);
  bool end_epoch(Task& task, size_t index);
  void write_checkpoint(Task& task);

  comm::Communicator& comm_;
  const EngineOptions& options_;
  monitoring::MetricsOptions metrics_options_;
  std::chrono::steady_clock::time_point run_start_;
  std::unique_ptr<RunMonitor> monitor_;
  std::unique_ptr<comm::Watchdog> watchdog_;
  torch::Device device_ = torch::kCPU;
  TrainState state_;
  std::string resume_from_;
  torch::nn::Module* model_ = nullptr;
  std::vector<StageSpec> plan_;
  TrainingInput input_;

  // Per stage.
  std::vector<ParamGroupSpec> groups_;
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  std::unique_ptr<GradBuckets> buckets_;
  WarmupCosineSchedule schedule_;
  std::unique_ptr<sharding::EpochSampler> sampler_;
  double last_lr_ = 0;
};

}  // namespace ecg::engine
