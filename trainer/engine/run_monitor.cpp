#include "trainer/engine/run_monitor.h"

#include "common/log.h"

namespace ecg::engine {

RunMonitor::RunMonitor(comm::Communicator& comm, const monitoring::MetricsOptions& options, bool quiet)
    : world_size_(comm.size()),
      metrics_(comm.rank(), comm.size()),
      progress_(monitoring::Progress::for_stdout(comm.rank(), quiet ? "off" : options.progress,
                                                options.progress_interval_s)) {
  exporter_ = std::make_unique<monitoring::MetricsExporter>(options, comm.rank(), comm.local_rank(),
                                                            metrics_.registry());
  if (exporter_->enabled()) log::debug("metrics on http://{}/metrics", exporter_->target());
}

void RunMonitor::set_stage(monitoring::Stage stage) {
  stage_ = stage;
  metrics_.set_stage(stage_);
}

void RunMonitor::set_epoch(monitoring::Stage stage, int epoch, int epochs, int64_t steps) {
  set_stage(stage);
  metrics_.set_epoch(epoch);
  progress_.start_epoch(stage_, epoch, epochs, steps);
}

void RunMonitor::on_step(const monitoring::StepTimes& times, uint64_t local_samples, double loss,
                         double lr, uint64_t allreduce_bytes) {
  metrics_.on_step(times, local_samples, loss, lr, allreduce_bytes);
  progress_.on_step(local_samples * static_cast<uint64_t>(world_size_), loss);
  metrics_.set_eta_seconds(progress_.eta_seconds());
}

void RunMonitor::end_epoch() { progress_.finish_epoch(); }

void RunMonitor::set_validation(double auroc, double auprc) { metrics_.set_validation(auroc, auprc); }

}  // namespace ecg::engine
