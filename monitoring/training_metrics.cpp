#include "monitoring/training_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <string>

#include "common/error.h"
#include "monitoring/process_stats.h"

#ifndef ECGDIST_MONITORING_VERSION
#define ECGDIST_MONITORING_VERSION "unknown"
#endif

namespace ecg::monitoring {
namespace {

// samples/s is averaged over at least this much wall time: per-step rates jump with every
// data-loader hiccup, while a dashboard wants a steady per-rank throughput.
constexpr double kRateWindowSeconds = 1.0;

prometheus::Counter& counter(prometheus::Registry& registry, const std::string& name,
                             const std::string& help, const prometheus::Labels& labels,
                             const prometheus::Labels& series = {}) {
  return prometheus::BuildCounter().Name(name).Help(help).Labels(labels).Register(registry).Add(
      series);
}

prometheus::Gauge& gauge(prometheus::Registry& registry, const std::string& name,
                         const std::string& help, const prometheus::Labels& labels,
                         const prometheus::Labels& series = {}) {
  return prometheus::BuildGauge().Name(name).Help(help).Labels(labels).Register(registry).Add(
      series);
}

}  // namespace

const char* stage_name(Stage stage) {
  switch (stage) {
    case Stage::pretraining:
      return "pretraining";
    case Stage::linear_probing:
      return "linear probing";
    case Stage::fine_tuning:
      return "fine-tuning";
  }
  return "?";
}

const std::vector<double>& step_seconds_buckets() {
  static const std::vector<double> buckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                              0.5,   1.0,    2.5,   5.0,  10.0,  30.0, 60.0};
  return buckets;
}

TrainingMetrics::TrainingMetrics(int rank, int world_size, Clock clock)
    : registry_(std::make_shared<prometheus::Registry>()),
      clock_(clock ? std::move(clock) : Clock(unix_time_seconds)) {
  ECG_CHECK(rank >= 0 && world_size > 0 && rank < world_size,
            "TrainingMetrics: rank {} outside world size {}", rank, world_size);
  auto& r = *registry_;
  const prometheus::Labels labels{{"rank", std::to_string(rank)}};

  samples_total_ =
      &counter(r, "ecgdist_samples_total", "Training samples processed by this rank", labels);
  steps_total_ = &counter(r, "ecgdist_steps_total", "Optimiser steps taken by this rank", labels);
  allreduce_bytes_total_ =
      &counter(r, "ecgdist_allreduce_bytes_total", "Gradient bytes this rank all-reduced", labels);

  auto& phases = prometheus::BuildCounter()
                     .Name("ecgdist_phase_seconds_total")
                     .Help(
                         "Wall time per step phase (exclusive slices of each step); "
                         "allreduce_wait = communication not hidden behind backward")
                     .Labels(labels)
                     .Register(r);
  phase_data_wait_ = &phases.Add({{"phase", "data_wait"}});
  phase_forward_ = &phases.Add({{"phase", "forward"}});
  phase_backward_ = &phases.Add({{"phase", "backward"}});
  phase_allreduce_wait_ = &phases.Add({{"phase", "allreduce_wait"}});
  phase_optimizer_ = &phases.Add({{"phase", "optimizer"}});

  step_seconds_ = &prometheus::BuildHistogram()
                       .Name("ecgdist_step_seconds")
                       .Help("Wall time of one training step")
                       .Labels(labels)
                       .Register(r)
                       .Add({}, step_seconds_buckets());

  samples_per_second_ = &gauge(r, "ecgdist_samples_per_second",
                               "Training throughput of this rank (samples per second)", labels);
  train_loss_ = &gauge(r, "ecgdist_train_loss", "Training loss of the last step", labels);
  pretrain_loss_ = &gauge(r, "ecgdist_pretrain_loss",
                          "Pretraining (reconstruction) loss of the last step", labels);
  val_macro_auroc_ =
      &gauge(r, "ecgdist_val_macro_auroc", "Macro AUROC on the validation fold", labels);
  val_macro_auprc_ =
      &gauge(r, "ecgdist_val_macro_auprc", "Macro AUPRC on the validation fold", labels);
  learning_rate_ = &gauge(r, "ecgdist_learning_rate", "Current learning rate", labels);
  epoch_ = &gauge(r, "ecgdist_epoch", "Current epoch, counting from 0", labels);
  stage_gauge_ = &gauge(r, "ecgdist_stage",
                        "Training stage: 0 pretraining, 1 linear probing, 2 fine-tuning", labels);
  world_size_ = &gauge(r, "ecgdist_world_size", "Number of ranks in the job", labels);
  last_step_timestamp_ = &gauge(r, "ecgdist_last_step_timestamp_seconds",
                                "Unix time of the last finished step (0 = none yet)", labels);
  start_time_ = &gauge(r, "ecgdist_start_time_seconds", "Unix time this rank started", labels);
  eta_seconds_ = &gauge(r, "ecgdist_eta_seconds",
                        "Estimated seconds until the current stage ends (0 = unknown)", labels);
  resident_memory_ =
      &gauge(r, "ecgdist_resident_memory_bytes", "Resident memory of this rank's process", labels);
  gpu_allocated_ = &gauge(r, "ecgdist_gpu_memory_allocated_bytes",
                          "GPU memory held by tensors of this rank (0 on CPU ranks)", labels);
  gpu_reserved_ = &gauge(r, "ecgdist_gpu_memory_reserved_bytes",
                         "GPU memory reserved by this rank's caching allocator (0 on CPU ranks)", labels);
  gpu_peak_ = &gauge(r, "ecgdist_gpu_memory_peak_bytes",
                     "Peak GPU memory held by tensors of this rank since it started (0 on CPU ranks)", labels);
  build_info_ = &gauge(r, "ecgdist_build_info", "Build information (always 1)", labels,
                       {{"version", ECGDIST_MONITORING_VERSION}});

  world_size_->Set(world_size);
  build_info_->Set(1);
  const double now = clock_();
  start_time_->Set(now);
  window_start_ = now;
  refresh_process_stats();
}

TrainingMetrics::~TrainingMetrics() = default;

void TrainingMetrics::on_step(const StepTimes& times, std::uint64_t samples, double loss,
                              double learning_rate, std::uint64_t allreduce_bytes) {
  const double now = clock_();
  samples_total_->Increment(static_cast<double>(samples));
  steps_total_->Increment();
  allreduce_bytes_total_->Increment(static_cast<double>(allreduce_bytes));
  // Counters refuse negative increments; a clock step backwards must not corrupt them.
  auto add = [](prometheus::Counter* c, double seconds) {
    if (seconds > 0) c->Increment(seconds);
  };
  add(phase_data_wait_, times.data_wait);
  add(phase_forward_, times.forward);
  add(phase_backward_, times.backward);
  add(phase_allreduce_wait_, times.allreduce_wait);
  add(phase_optimizer_, times.optimizer);
  step_seconds_->Observe(times.total());

  (stage_ == Stage::pretraining ? pretrain_loss_ : train_loss_)->Set(loss);
  learning_rate_->Set(learning_rate);
  last_step_timestamp_->Set(now);

  window_samples_ += samples;
  const double elapsed = now - window_start_;
  if (elapsed >= kRateWindowSeconds) {
    samples_per_second_->Set(static_cast<double>(window_samples_) / elapsed);
    window_start_ = now;
    window_samples_ = 0;
  } else if (samples_per_second_->Value() == 0 && times.total() > 0) {
    // Until the first window closes, show the step's own rate rather than 0.
    samples_per_second_->Set(static_cast<double>(samples) / times.total());
  }
  refresh_process_stats();
}

void TrainingMetrics::set_epoch(int epoch) {
  epoch_->Set(epoch);
}

void TrainingMetrics::set_stage(Stage stage) {
  stage_ = stage;
  stage_gauge_->Set(static_cast<double>(stage));
}

void TrainingMetrics::set_validation(double macro_auroc, double macro_auprc) {
  val_macro_auroc_->Set(macro_auroc);
  val_macro_auprc_->Set(macro_auprc);
}

void TrainingMetrics::set_eta_seconds(double seconds) {
  eta_seconds_->Set(seconds);
}

void TrainingMetrics::set_device_memory(std::uint64_t allocated, std::uint64_t reserved,
                                        std::uint64_t peak_allocated) {
  gpu_allocated_->Set(static_cast<double>(allocated));
  gpu_reserved_->Set(static_cast<double>(reserved));
  gpu_peak_->Set(static_cast<double>(peak_allocated));
}

void TrainingMetrics::refresh_process_stats() {
  resident_memory_->Set(static_cast<double>(resident_memory_bytes()));
}

}  // namespace ecg::monitoring
