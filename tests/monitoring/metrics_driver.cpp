// Test driver for the Prometheus integration harness: one "rank" that exports the full ecgdist
// metric set with changing values for --duration seconds, exactly as the trainer would (same
// flags via add_metrics_options, same TrainingMetrics/MetricsExporter/Progress classes), but
// without LibTorch or data. Run it under `mpirun -np 2` (rank from OMPI_COMM_WORLD_* or
// SLURM_* variables) or as separate processes with --rank/--world-size/--local-rank.
#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <thread>

#include "common/error.h"
#include "common/log.h"
#include "monitoring/metrics_cli.h"
#include "monitoring/metrics_exporter.h"
#include "monitoring/progress.h"
#include "monitoring/training_metrics.h"

namespace {

std::atomic<bool> g_stop{false};
void on_signal(int) {
  g_stop = true;
}

int env_int(std::initializer_list<const char*> names, int fallback) {
  for (const char* name : names) {
    if (const char* value = std::getenv(name)) return std::atoi(value);
  }
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace ecg::monitoring;
  CLI::App app{"ecg_metrics_driver: exports synthetic ecgdist training metrics"};
  app.option_defaults()->always_capture_default();
  MetricsOptions options;
  add_metrics_options(app, options);
  int rank = env_int({"OMPI_COMM_WORLD_RANK", "PMI_RANK", "SLURM_PROCID"}, 0);
  int world = env_int({"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_NTASKS"}, 1);
  int local_rank = env_int({"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID"}, 0);
  double duration_s = 20;
  double step_s = 0.05;
  app.add_option("--rank", rank, "Rank of this process");
  app.add_option("--world-size", world, "Number of ranks");
  app.add_option("--local-rank", local_rank, "Rank within the node");
  app.add_option("--duration", duration_s, "Seconds to run");
  app.add_option("--step-seconds", step_s, "Wall time of one simulated step");
  CLI11_PARSE(app, argc, argv);

  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  try {
    ecg::log::set_rank(rank, world);
    TrainingMetrics metrics(rank, world);
    MetricsExporter exporter(options, rank, local_rank, metrics.registry());
    Progress progress = Progress::for_stdout(rank, options.progress, options.progress_interval_s);

    // Three stages share the duration; rank 1 is a mild straggler (longer data wait).
    const auto start = std::chrono::steady_clock::now();
    const int steps_per_epoch = std::max(1, static_cast<int>(1.0 / step_s));
    const std::uint64_t batch = 32;
    const double straggle = rank == 1 ? 1.5 : 1.0;
    int epoch = 0;
    std::uint64_t step = 0;
    for (;;) {
      const double elapsed =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (elapsed >= duration_s || g_stop) break;
      const int stage_index = std::min(2, static_cast<int>(3 * elapsed / duration_s));
      const Stage stage = static_cast<Stage>(stage_index);
      metrics.set_stage(stage);
      metrics.set_epoch(epoch);
      progress.start_epoch(stage, epoch, epoch + 2, steps_per_epoch);
      for (int s = 0; s < steps_per_epoch && !g_stop; ++s, ++step) {
        StepTimes t;
        t.data_wait = 0.1 * step_s * straggle;
        t.forward = 0.3 * step_s;
        t.backward = 0.4 * step_s;
        t.allreduce_wait = 0.1 * step_s;
        t.optimizer = 0.1 * step_s;
        std::this_thread::sleep_for(std::chrono::duration<double>(t.total()));
        const double loss = 1.0 / (1.0 + 0.01 * static_cast<double>(step));
        const double lr = 1e-3 * (0.5 + 0.5 * std::cos(0.01 * static_cast<double>(step)));
        metrics.on_step(t, batch, loss, lr, 4u << 20);
        progress.on_step(batch * static_cast<std::uint64_t>(world), loss);
        metrics.set_eta_seconds(progress.eta_seconds());
      }
      progress.finish_epoch();
      metrics.set_validation(0.5 + 0.4 * (1 - std::exp(-0.3 * (epoch + 1))),
                             0.2 + 0.5 * (1 - std::exp(-0.3 * (epoch + 1))));
      ++epoch;
    }
    ecg::log::info("metrics driver rank {} done after {} steps", rank, step);
  } catch (const ecg::Error& e) {
    ecg::log::error("{}", e.message());
    return 1;
  }
  return 0;
}
