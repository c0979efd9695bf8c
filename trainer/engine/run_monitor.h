// Everything a training run reports while it runs, behind one object: the Prometheus metric set
// and its /metrics exporter (+ file_sd target), and rank 0's console progress. The training loop
// calls it with plain numbers.
#pragma once

#include <cstdint>
#include <memory>

#include "comm/communicator.h"
#include "monitoring/metrics_exporter.h"
#include "monitoring/metrics_options.h"
#include "monitoring/progress.h"
#include "monitoring/training_metrics.h"

namespace ecg::engine {

class RunMonitor {
 public:
  RunMonitor(comm::Communicator& comm, const monitoring::MetricsOptions& options, bool quiet);

  void set_stage(monitoring::Stage stage);
  void set_epoch(monitoring::Stage stage, int epoch, int epochs, int64_t steps);
  // One step of this rank: local samples, the global mean loss, lr, bytes all-reduced.
  void on_step(const monitoring::StepTimes& times, uint64_t local_samples, double loss, double lr,
               uint64_t allreduce_bytes);
  void end_epoch();
  void set_validation(double auroc, double auprc);
  void set_device_memory(uint64_t allocated, uint64_t reserved, uint64_t peak_allocated) {
    metrics_.set_device_memory(allocated, reserved, peak_allocated);
  }

  monitoring::TrainingMetrics& metrics() { return metrics_; }

 private:
  int world_size_;
  monitoring::Stage stage_ = monitoring::Stage::fine_tuning;
  monitoring::TrainingMetrics metrics_;
  std::unique_ptr<monitoring::MetricsExporter> exporter_;
  monitoring::Progress progress_;
};

}  // namespace ecg::engine
