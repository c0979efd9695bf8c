#include "monitoring/metrics_cli.h"

namespace ecg::monitoring {

void add_metrics_options(CLI::App& app, MetricsOptions& options) {
  const std::string group = "Monitoring";
  app.add_option("--metrics-port", options.port,
                 "Serve Prometheus /metrics on this base port; rank r serves port + local rank "
                 "(0 = off)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str()
      ->group(group);
  app.add_option("--metrics-bind", options.bind,
                 "Address the metrics endpoint listens on: 0.0.0.0 = all interfaces (reachable "
                 "by any host that can reach the node); 127.0.0.1 = this node only")
      ->capture_default_str()
      ->group(group);
  app.add_flag("--metrics-port-auto", options.port_auto,
               "If the metrics port is in use, take the next free one instead of failing")
      ->capture_default_str()
      ->group(group);
  app.add_option("--metrics-port-auto-range", options.port_auto_range,
                 "How many consecutive ports --metrics-port-auto tries")
      ->check(CLI::Range(1, 65535))
      ->capture_default_str()
      ->group(group);
  app.add_option("--metrics-sd-dir", options.sd_dir,
                 "Write a Prometheus file_sd target file per rank into this directory (removed "
                 "on exit); empty = none")
      ->capture_default_str()
      ->group(group);
  app.add_option("--progress-interval", options.progress_interval_s,
                 "Seconds between progress lines when stdout is not a terminal (SLURM logs)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str()
      ->group(group);
  app.add_option("--progress", options.progress,
                 "Console progress on rank 0: auto (bar on a terminal, else lines), bar, lines, "
                 "off (mpirun hands ranks a terminal even when logging to a file: use lines)")
      ->check(CLI::IsMember({"auto", "bar", "lines", "off"}))
      ->capture_default_str()
      ->group(group);
}

}  // namespace ecg::monitoring
