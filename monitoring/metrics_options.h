// What the monitoring flags select, shared by every command that trains (train, pretrain) so
// that they all expose the same --metrics-* flags with the same meaning and defaults.
#pragma once

#include <string>

namespace ecg::monitoring {

struct MetricsOptions {
  // Base port of the /metrics endpoint; each rank serves port + its local rank (ranks on one node
  // need distinct ports). 0 = no exporter.
  int port = 0;
  // Address the exporter listens on. 0.0.0.0 (all interfaces) lets a Prometheus server on another
  // node scrape it, but also exposes the (read-only, unauthenticated) metrics to anyone who can
  // reach the node; use 127.0.0.1 or a cluster-internal interface address to restrict it.
  std::string bind = "0.0.0.0";
  // When the port is taken, try the following ports instead of failing.
  bool port_auto = false;
  // How many ports --metrics-port-auto tries (port + local rank, then upwards).
  int port_auto_range = 64;
  // Directory for Prometheus file_sd target files (one per rank); empty = none.
  std::string sd_dir;
  // Seconds between plain progress lines when stdout is not a terminal (SLURM logs).
  double progress_interval_s = 30.0;
  // Console progress on rank 0: "auto" (bar on a terminal, lines otherwise), "bar", "lines",
  // "off". mpirun gives its ranks a pseudo-terminal even when its own output goes to a file, so
  // batch scripts that run mpirun should pass "lines".
  std::string progress = "auto";
};

}  // namespace ecg::monitoring
