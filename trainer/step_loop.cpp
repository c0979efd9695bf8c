#include "trainer/step_loop.h"

#include <chrono>
#include <filesystem>

#include "comm/watchdog.h"
#include "common/error.h"
#include "common/log.h"
#include "trainer/checkpoint.h"
#include "trainer/model_io.h"
#include "trainer/runtime.h"
#include "trainer/step_agreement.h"
#include "trainer/stop_signal.h"

namespace ecg::trainer {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

}  // namespace

void complete_step(StepLoop& loop, GradBuckets* buckets, torch::optim::Optimizer& optimizer,
                   const torch::Tensor& loss, monitoring::StepTimes times, int64_t local_samples,
                   double lr, const std::string& what) {
  TrainState& state = loop.state;
  auto t0 = Clock::now();
  uint64_t bytes = 0;
  if (buckets != nullptr) {
    comm::WatchdogScope guard(loop.watchdog, "gradient all-reduce", state.global_step, loop.options.timeout);
    const uint64_t before = buckets->stats().bytes;
    buckets->finish();
    bytes = buckets->stats().bytes - before;
  }
  const bool local_stop =
      stop_requested() || (loop.options.max_steps > 0 && state.global_step + 1 >= loop.options.max_steps);
  const StepAgreement agreed = agree_on_step(loop.comm, loss.item<double>(), local_stop);
  times.allreduce_wait = seconds_since(t0);

  auto t1 = Clock::now();
  if (!agreed.nonfinite_ranks.empty()) {
    ECG_CHECK(loop.options.skip_nonfinite, "non-finite loss at step {} ({}, epoch {}) on rank(s) {}",
              state.global_step, what, state.epoch + 1, fmt::join(agreed.nonfinite_ranks, ","));
    ++state.skipped_nonfinite;
    log::warn("skipping step {}: non-finite loss on rank(s) {}", state.global_step,
              fmt::join(agreed.nonfinite_ranks, ","));
  } else {
    optimizer.step();
    state.epoch_loss_sum += agreed.mean_loss;
    ++state.epoch_loss_steps;
  }
  times.optimizer = seconds_since(t1);
  ++state.step;
  ++state.global_step;
  state.samples_seen += loop.global_batch;
  state.step_seconds += times.total();
  loop.monitor.on_step(times, static_cast<uint64_t>(local_samples), agreed.mean_loss, lr, bytes);
  if (agreed.stop) request_stop();
}

bool run_batches(StepLoop& loop, sharding::Prefetcher& prefetcher, const torch::nn::Module& model,
                 int64_t steps_per_epoch, const std::function<void(sharding::Batch&)>& step,
                 const std::function<void()>& checkpoint) {
  TrainState& state = loop.state;
  const auto start = Clock::now();
  const double carried = state.epoch_seconds;
  auto elapsed = [&] { return carried + seconds_since(start); };
  while (!prefetcher.done()) {
    sharding::Batch batch;
    {
      comm::WatchdogScope guard(loop.watchdog, "data wait", state.global_step, loop.options.timeout);
      batch = prefetcher.next();
    }
    step(batch);
    prefetcher.recycle(std::move(batch));
    if (loop.options.checksum_every_steps > 0 && state.global_step % loop.options.checksum_every_steps == 0) {
      check_parameters_consistent(loop.comm, model, fmt::format("step {}", state.global_step));
    }
    if (stop_requested()) {
      state.epoch_seconds = elapsed();
      return false;
    }
    if (loop.options.checkpoint_every_steps > 0 && state.global_step % loop.options.checkpoint_every_steps == 0 &&
        state.step < steps_per_epoch) {
      state.epoch_seconds = elapsed();
      checkpoint();
    }
  }
  state.epoch_seconds = elapsed();
  return true;
}

std::unique_ptr<comm::Watchdog> start_engine(comm::Communicator& comm, const EngineOptions& options) {
  install_stop_signal(options.stop_signal);
  configure_threads(options.threads, comm.local_size());
  if (comm.rank() == 0) std::filesystem::create_directories(options.out);
  comm.barrier("create run directory");
  return std::make_unique<comm::Watchdog>(comm.rank(), [&comm](int code) { comm.abort(code); });
}

void write_step_checkpoint(StepLoop& loop, const nlohmann::json& meta, torch::nn::Module& model,
                           torch::optim::Optimizer& optimizer) {
  if (loop.comm.rank() == 0) {
    comm::WatchdogScope guard(loop.watchdog, "checkpoint write", loop.state.global_step, loop.options.timeout);
    nlohmann::json full = meta;
    full["state"] = loop.state;
    full["world_size"] = loop.comm.size();
    save_checkpoint(step_checkpoint_path(loop.options.out, loop.state.global_step), full, snapshot_state(model),
                    &optimizer);
    prune_checkpoints(loop.options.out, 2);
  }
  loop.comm.barrier("checkpoint written");
}

}  // namespace ecg::trainer
