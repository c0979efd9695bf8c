// One rank's /metrics endpoint (the prometheus-cpp registry in the text format, served by
// http_endpoint.h) plus its optional file_sd target file. Constructing it starts serving; destroying it stops serving and
// removes the target file.
#pragma once

#include <memory>
#include <string>

#include "monitoring/metrics_options.h"

namespace prometheus {
class Registry;
}  // namespace prometheus

namespace ecg::monitoring {

class FileSdTarget;
class HttpMetricsEndpoint;

class MetricsExporter {
 public:
  // Serves `registry` on options.bind:(options.port + local_rank) unless options.port is 0 (then
  // it does nothing). A taken port is an ecg::Error naming the address, or with
  // options.port_auto the next free port (up to options.port_auto_range tries) is used.
  MetricsExporter(const MetricsOptions& options, int rank, int local_rank,
                  std::shared_ptr<prometheus::Registry> registry);
  ~MetricsExporter();
  MetricsExporter(const MetricsExporter&) = delete;
  MetricsExporter& operator=(const MetricsExporter&) = delete;

  bool enabled() const { return endpoint_ != nullptr; }
  int port() const { return port_; }  // the port actually served (0 when disabled)
  const std::string& target() const { return target_; }  // host:port Prometheus scrapes
  std::string sd_file() const;                           // path of the file_sd file, empty if none

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<HttpMetricsEndpoint> endpoint_;
  std::unique_ptr<FileSdTarget> sd_target_;
  int port_ = 0;
  std::string target_;
};

// address:port as a URL authority (IPv6 in brackets).
std::string listen_address(const std::string& bind, int port);

}  // namespace ecg::monitoring
