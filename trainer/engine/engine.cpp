#include "trainer/engine/engine.h"

#include <array>
#include <filesystem>

#include "comm/watchdog.h"
#include "common/error.h"
#include "common/log.h"
#include "common/stopwatch.h"
#include "trainer/engine/checkpoint_files.h"
#include "trainer/engine/runtime.h"
#include "trainer/engine/step_agreement.h"
#include "trainer/engine/stop_signal.h"
#include "model/torch_compat.h"
#include "sharding/prefetcher.h"

namespace ecg::engine {
namespace {

using Clock = SteadyClock;

}  // namespace

std::string describe(Stage stage) {
  return stage == Stage::pretraining ? "pretraining" : fmt::format("stage {}", static_cast<int>(stage));
}

int64_t sampler_epoch_key(Stage stage, int epoch) {
  // Stage 0 (pretraining) keys are the plain epoch numbers.
  return static_cast<int64_t>(stage) * 100000 + epoch;
}

Engine::Engine(comm::Communicator& comm, const EngineOptions& options,
               const monitoring::MetricsOptions& metrics_options)
    : comm_(comm), options_(options), metrics_options_(metrics_options) {}

Engine::~Engine() = default;

RunContext Engine::context() { return RunContext{comm_, options_, device_, watchdog_.get(), *monitor_, state_}; }

int Engine::run(Task& task) {
  std::error_code ec;
  const bool out_existed = std::filesystem::exists(options_.out, ec);
  try {
    return run_task(task);
  } catch (...) {
    // Never a folder that existed before (user content), never one holding a file.
    if (comm_.rank() == 0 && !out_existed) remove_run_dir_without_files(options_.out);
    throw;
  }
}

int Engine::run_task(Task& task) {
  run_start_ = Clock::now();
  start();
  task.prepare(context());
  if (comm_.rank() == 0) {
    nlohmann::json resolved = task.options_json();
    resolved["world_size"] = comm_.size();
    resolved["backend"] = comm_.backend();
    log::info("ecgdist {}: resolved configuration\n{}", task.command(), resolved.dump(2));
  }
  resume_from_ = resolve_resume_path(options_);
  model_ = &task.build_model(context());
  model_->to(device_);
  // Rank 0's weights and buffers everywhere: the ranks start identical whatever the task did.
  broadcast_parameters(comm_, *model_);
  plan_ = task.plan();
  ECG_CHECK(!plan_.empty(), "{}: the task planned no stage", task.command());
  input_ = task.training_input();
  // Data, model and --init/--resume are read and checked: from here on the run writes outputs.
  create_run_directory();
  if (resume_from_.empty()) {
    task.begin(context());
  } else {
    resume(task);
  }

  bool stopped = false;
  for (; state_.stage_index < static_cast<int>(plan_.size()); ++state_.stage_index) {
    const auto index = static_cast<size_t>(state_.stage_index);
    start_stage(task, index);
    while (state_.epoch < plan_[index].epochs && !state_.stopped_early) {
      if (!run_epoch(task, index)) {
        stopped = true;
        break;
      }
      state_.stopped_early = end_epoch(task, index);
      write_checkpoint(task);
    }
    if (stopped) break;
    state_.epoch = 0;
    state_.step = 0;
    state_.stopped_early = false;
  }
  if (stopped) {
    write_checkpoint(task);
    log::info("stopped at step {}: checkpoint written to {}; resume with --resume auto", state_.global_step,
              newest_checkpoint(options_.out));
    return kPreemptedExitCode;
  }
  task.finish(context());
  comm_.barrier("outputs written");
  return 0;
}

void Engine::start() {
  // The exporter starts first: its port is claimed (or the clash reported) before any work.
  monitor_ = std::make_unique<RunMonitor>(comm_, metrics_options_, options_.quiet);
  install_stop_signal(options_.stop_signal);
  configure_threads(options_.threads, comm_.local_size());
  watchdog_ = std::make_unique<comm::Watchdog>(comm_.rank(), [this](int code) { comm_.abort(code); });
  device_ = resolve_device(options_.device, comm_.local_rank());
  // Gradients are all-reduced where they live: GPU buckets need NCCL, host buckets MPI.
  const bool gpu = device_.is_cuda();
  ECG_CHECK(comm_.size() == 1 || gpu == (comm_.device() == comm::Device::cuda),
            "--device {} with --backend {}: gradients on the {} need the {} backend", device_.str(), comm_.backend(),
            gpu ? "GPU" : "CPU", gpu ? "nccl" : "mpi");
  if (options_.precision == model::Precision::bf16 && device_.is_cpu()) model::check_bf16_cpu();
  comm_.set_compute_stream(compute_stream(device_));
  if (comm_.rank() == 0) {
    log::info("device {} ({} per rank), precision {}", device_.str(), gpu ? "one GPU" : "CPU",
              model::precision_name(options_.precision));
  }
}

void Engine::create_run_directory() {
  if (comm_.rank() == 0) {
    std::error_code ec;
    std::filesystem::create_directories(options_.out, ec);
    ECG_CHECK(!ec && std::filesystem::is_directory(options_.out), "--out {}: cannot create the run folder: {}",
              options_.out, ec ? ec.message() : "exists and is not a folder");
  }
  comm_.barrier("create run directory");
}

void Engine::resume(Task& task) {
  model::LoadedCheckpoint checkpoint = model::load_checkpoint(resume_from_);
  task.resume(context(), checkpoint, resume_from_);
  state_ = checkpoint.meta.at("state").get<TrainState>();
  ECG_CHECK(state_.stage_index >= 0 && state_.stage_index < static_cast<int>(plan_.size()),
            "--resume {}: stage index {} is outside this run's plan of {} stage(s)", resume_from_,
            state_.stage_index, plan_.size());
  log::info("resuming from {} ({} {}, epoch {}, step {})", resume_from_, task.command(),
            describe(plan_[static_cast<size_t>(state_.stage_index)].stage), state_.epoch + 1, state_.step);
}

void Engine::start_stage(Task& task, size_t index) {
  const StageSpec& spec = plan_[index];
  model::NamedTensors trainable = task.start_stage(index);
  groups_ = make_param_groups(trainable, spec.depth, spec.weight_decay, spec.layer_decay);
  optimizer_ = make_adamw(groups_, spec.lr, spec.beta1, spec.beta2);
  buckets_.reset();
  if (comm_.size() > 1) {
    // Rebuilt whenever the trainable set changes: frozen parameters are never communicated.
    buckets_ = std::make_unique<GradBuckets>(comm_, trainable_in_registration_order(*model_),
                                             static_cast<size_t>(options_.bucket_mb * 1024 * 1024),
                                             options_.grad_dtype);
  }
  sampler_ = std::make_unique<sharding::EpochSampler>(input_.records, input_.seed, input_.batch_size,
                                                      comm_.size(), comm_.rank());
  const int horizon = spec.schedule_epochs > 0 ? spec.schedule_epochs : std::max(1, spec.epochs);
  const int64_t total = std::max<int64_t>(1, sampler_->steps_per_epoch() * horizon);
  schedule_ = warmup_cosine(spec.lr, spec.min_lr, total, spec.warmup_fraction);
  monitor_->set_stage(spec.stage);
  if (!resume_from_.empty()) {
    // The optimiser state belongs to the stage the checkpoint was written in (CPU tensors on
    // disk: moved to this run's device).
    model::load_checkpoint(resume_from_, optimizer_.get());
    move_optimizer_state(*optimizer_, device_);
    resume_from_.clear();
  }
}

bool Engine::run_epoch(Task& task, size_t index) {
  const StageSpec& spec = plan_[index];
  sampler_->set_epoch(sampler_epoch_key(spec.stage, state_.epoch));
  const int64_t steps = sampler_->steps_per_epoch();
  ECG_CHECK(steps > 0, "{}: --batch-size {} exceeds the {} training records", input_.path, input_.batch_size,
            input_.records.size());
  sharding::PrefetchConfig config;
  config.leads = input_.lead_rows;
  config.crop_samples = input_.crop_length;
  config.transform = input_.transform;
  config.depth = options_.prefetch_depth;
  config.worker_threads = 1;
  sharding::Prefetcher prefetcher(input_.path, sampler_->batches_from(state_.step), input_.labels, config);
  monitor_->set_epoch(spec.stage, state_.epoch, spec.epochs, steps - state_.step);

  const auto start = Clock::now();
  const double carried = state_.epoch_seconds;  // a resumed epoch keeps its earlier wall time
  auto elapsed = [&] { return carried + seconds_since(start); };
  auto next_batch = [&] {
    comm::WatchdogScope guard(watchdog_.get(), "data wait", state_.global_step, options_.timeout);
    return prefetcher.next();
  };
  if (prefetcher.done()) {  // resumed from a checkpoint written after the epoch's last step
    state_.epoch_seconds = elapsed();
    return true;
  }
  // Two host batches in flight: the current step's and the next one's (fixed slots, so that the
  // staged batches' pointers to them stay valid).
  std::array<sharding::Batch, 2> hosts;
  size_t current = 0;
  BatchStager stager(device_);
  hosts[current] = next_batch();
  DeviceBatch batch = stager.stage(hosts[current]);
  while (true) {
    monitoring::StepTimes times;
    times.data_wait = hosts[current].wait_seconds;
    const double lr = schedule_.lr(state_.epoch * steps + state_.step);
    apply_lr(*optimizer_, groups_, lr);

    auto t0 = Clock::now();
    torch::Tensor loss = task.loss(batch, index);
    times.forward = seconds_since(t0);
    auto t1 = Clock::now();
    model::zero_grad_keep(*optimizer_);
    loss.backward();
    times.backward = seconds_since(t1);

    // The next batch is read and staged while the device still works on this step (complete_step
    // is the step's one host sync); on the CPU staging is free and this only reorders the calls.
    const bool last = prefetcher.done();
    DeviceBatch next;
    if (!last) {
      hosts[1 - current] = next_batch();
      next = stager.stage(hosts[1 - current]);
    }
    complete_step(loss, times, hosts[current].size, lr, spec.stage);
    prefetcher.recycle(std::move(hosts[current]));
    current = 1 - current;
    batch = next;

    if (options_.checksum_every_steps > 0 && state_.global_step % options_.checksum_every_steps == 0) {
      check_parameters_consistent(comm_, *model_, fmt::format("step {}", state_.global_step));
    }
    if (stop_requested()) {
      state_.epoch_seconds = elapsed();
      return false;
    }
    if (last) break;
    // The epoch's last step is followed by the end-of-epoch checkpoint anyway.
    if (options_.checkpoint_every_steps > 0 && state_.global_step % options_.checkpoint_every_steps == 0) {
      state_.epoch_seconds = elapsed();
      write_checkpoint(task);
    }
  }
  state_.epoch_seconds = elapsed();
  return true;
}

void Engine::complete_step(const torch::Tensor& loss, monitoring::StepTimes times, int64_t local_samples,
                           double lr, Stage stage) {
  auto t0 = Clock::now();
  uint64_t bytes = 0;
  if (buckets_) {
    comm::WatchdogScope guard(watchdog_.get(), "gradient all-reduce", state_.global_step, options_.timeout);
    const GradBuckets::Stats before = buckets_->stats();
    buckets_->finish();
    const GradBuckets::Stats after = buckets_->stats();
    bytes = after.bytes - before.bytes;
    state_.allreduce_bytes += bytes;
    state_.allreduce_seconds += after.comm_seconds - before.comm_seconds;
    state_.allreduce_wait_seconds += after.wait_seconds - before.wait_seconds;
  }
  const bool local_stop =
      stop_requested() || (options_.max_steps > 0 && state_.global_step + 1 >= options_.max_steps);
  // The loop's one host sync: every rank takes the same decision at the same step.
  const StepAgreement agreed = agree_on_step(comm_, loss.item<double>(), local_stop);
  times.allreduce_wait = seconds_since(t0);

  auto t1 = Clock::now();
  if (!agreed.nonfinite_ranks.empty()) {
    ECG_CHECK(options_.skip_nonfinite, "non-finite loss at step {} ({}, epoch {}) on rank(s) {}",
              state_.global_step, describe(stage), state_.epoch + 1, fmt::join(agreed.nonfinite_ranks, ","));
    ++state_.skipped_nonfinite;
    log::warn("skipping step {}: non-finite loss on rank(s) {}", state_.global_step,
              fmt::join(agreed.nonfinite_ranks, ","));
  } else {
    optimizer_->step();
    state_.epoch_loss_sum += agreed.mean_loss;
    ++state_.epoch_loss_steps;
  }
  times.optimizer = seconds_since(t1);
  last_lr_ = lr;
  ++state_.step;
  ++state_.global_step;
  state_.samples_seen += input_.batch_size;
  state_.step_seconds += times.total();
  monitor_->on_step(times, static_cast<uint64_t>(local_samples), agreed.mean_loss, lr, bytes);
  const DeviceMemory memory = device_memory(device_);
  if (memory.known) monitor_->set_device_memory(memory.allocated, memory.reserved, memory.peak_allocated);
  if (agreed.stop) request_stop();
}

bool Engine::end_epoch(Task& task, size_t index) {
  const auto t0 = Clock::now();
  EpochEnd end;
  end.stage_index = index;
  end.stage = &plan_[index];
  end.epoch = state_.epoch + 1;
  end.train_loss = state_.epoch_mean_loss();
  end.lr = last_lr_;
  end.training_seconds = state_.epoch_seconds;
  const bool end_stage = task.end_epoch(context(), end);
  state_.train_seconds += state_.epoch_seconds + seconds_since(t0);
  monitor_->end_epoch();
  state_.next_epoch();
  return end_stage;
}

void Engine::write_checkpoint(Task& task) {
  if (comm_.rank() == 0) {
    comm::WatchdogScope guard(watchdog_.get(), "checkpoint write", state_.global_step, options_.timeout);
    nlohmann::json meta = task.checkpoint_meta();
    meta["state"] = state_;
    meta["world_size"] = comm_.size();
    // On disk everything is a CPU tensor: a GPU run resumes on the CPU and back.
    move_optimizer_state(*optimizer_, torch::kCPU);
    model::save_checkpoint(step_checkpoint_path(options_.out, state_.global_step), meta,
                           snapshot_state(*model_), optimizer_.get());
    move_optimizer_state(*optimizer_, device_);
    prune_checkpoints(options_.out, 2);
  }
  comm_.barrier("checkpoint written");
}

}  // namespace ecg::engine
