// The training metric set of one rank, held in a prometheus::Registry that an exporter serves
// (or a test serialises). The trainer calls it with plain numbers (no LibTorch here).
//
// Naming follows the Prometheus rules: prefix ecgdist_, base units (seconds, bytes), _total for
// counters, no job/instance labels (Prometheus adds them at scrape time) and one constant label,
// rank, on every series. Every series exists from construction (at 0) so that dashboards and
// alerts see a rank as soon as it is scraped, not only after its first step.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace prometheus {
class Registry;
class Counter;
class Gauge;
class Histogram;
}  // namespace prometheus

namespace ecg::monitoring {

// Exclusive slices of one step's wall time, in seconds. allreduce_wait is the communication time
// NOT hidden behind backward (time spent waiting for outstanding all-reduces after backward).
struct StepTimes {
  double data_wait = 0;
  double forward = 0;
  double backward = 0;
  double allreduce_wait = 0;
  double optimizer = 0;
  double total() const { return data_wait + forward + backward + allreduce_wait + optimizer; }
};

// Values of ecgdist_stage.
enum class Stage { pretraining = 0, linear_probing = 1, fine_tuning = 2 };
const char* stage_name(Stage stage);

// Upper bounds (seconds) of the ecgdist_step_seconds histogram: 1 ms .. 60 s.
const std::vector<double>& step_seconds_buckets();

class TrainingMetrics {
 public:
  using Clock = std::function<double()>;  // wall-clock seconds since the Unix epoch

  // `clock` is injectable for tests; the default reads the system clock.
  TrainingMetrics(int rank, int world_size, Clock clock = {});
  ~TrainingMetrics();
  TrainingMetrics(const TrainingMetrics&) = delete;
  TrainingMetrics& operator=(const TrainingMetrics&) = delete;

  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }

  // One optimiser step of this rank: `samples` processed, its loss (lands in
  // ecgdist_pretrain_loss while the stage is pretraining, since the reconstruction loss is not
  // comparable to the classification loss, else in ecgdist_train_loss), the learning rate after
  // the step and the bytes this rank all-reduced.
  void on_step(const StepTimes& times, std::uint64_t samples, double loss, double learning_rate,
               std::uint64_t allreduce_bytes);
  void set_epoch(int epoch);  // counting from 0
  void set_stage(Stage stage);
  void set_validation(double macro_auroc, double macro_auprc);
  // Estimated seconds until the current stage ends (from the progress display); 0 = unknown.
  void set_eta_seconds(double seconds);
  // The rank's GPU memory from LibTorch's caching allocator (stays 0 on CPU ranks).
  void set_device_memory(std::uint64_t allocated, std::uint64_t reserved, std::uint64_t peak_allocated);
  // Refreshes the gauges sampled from the process (memory); on_step calls it too.
  void refresh_process_stats();

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  Clock clock_;
  Stage stage_ = Stage::pretraining;
  // samples/s over windows of at least kRateWindowSeconds of wall time.
  double window_start_ = 0;
  std::uint64_t window_samples_ = 0;

  prometheus::Counter* samples_total_;
  prometheus::Counter* steps_total_;
  prometheus::Counter* allreduce_bytes_total_;
  prometheus::Counter* phase_data_wait_;
  prometheus::Counter* phase_forward_;
  prometheus::Counter* phase_backward_;
  prometheus::Counter* phase_allreduce_wait_;
  prometheus::Counter* phase_optimizer_;
  prometheus::Histogram* step_seconds_;
  prometheus::Gauge* samples_per_second_;
  prometheus::Gauge* train_loss_;
  prometheus::Gauge* pretrain_loss_;
  prometheus::Gauge* val_macro_auroc_;
  prometheus::Gauge* val_macro_auprc_;
  prometheus::Gauge* learning_rate_;
  prometheus::Gauge* epoch_;
  prometheus::Gauge* stage_gauge_;
  prometheus::Gauge* world_size_;
  prometheus::Gauge* last_step_timestamp_;
  prometheus::Gauge* start_time_;
  prometheus::Gauge* eta_seconds_;
  prometheus::Gauge* resident_memory_;
  prometheus::Gauge* gpu_allocated_;
  prometheus::Gauge* gpu_reserved_;
  prometheus::Gauge* gpu_peak_;
  prometheus::Gauge* build_info_;
};

}  // namespace ecg::monitoring
