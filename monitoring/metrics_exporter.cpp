#include "monitoring/metrics_exporter.h"

#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <system_error>

#include "common/error.h"
#include "common/log.h"
#include "monitoring/file_sd.h"
#include "monitoring/http_endpoint.h"

namespace ecg::monitoring {
namespace {

// --metrics-bind as a bare numeric host: empty means all interfaces, "[::1]" means "::1".
std::string bind_host(const std::string& bind) {
  if (bind.empty()) return "0.0.0.0";
  if (bind.size() >= 2 && bind.front() == '[' && bind.back() == ']') return bind.substr(1, bind.size() - 2);
  return bind;
}

// Starts the endpoint on bind:port; on failure returns nullptr, the OS's reason and whether the
// port is taken.
std::unique_ptr<HttpMetricsEndpoint> try_serve(const std::string& bind, int port,
                                               const std::shared_ptr<prometheus::Registry>& registry,
                                               std::string& why, bool& in_use) {
  try {
    return std::make_unique<HttpMetricsEndpoint>(
        bind_host(bind), port,
        [registry] { return prometheus::TextSerializer().Serialize(registry->Collect()); });
  } catch (const std::system_error& e) {
    why = e.what();
    in_use = e.code() == std::errc::address_in_use;
    return nullptr;
  }
}

}  // namespace

std::string listen_address(const std::string& bind, int port) {
  const std::string host = bind_host(bind);
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

MetricsExporter::MetricsExporter(const MetricsOptions& options, int rank, int local_rank,
                                 std::shared_ptr<prometheus::Registry> registry)
    : registry_(std::move(registry)) {
  if (options.port == 0) {
    ECG_CHECK(options.sd_dir.empty(), "--metrics-sd-dir {} needs --metrics-port (it is 0 = off)",
              options.sd_dir);
    return;
  }
  ECG_CHECK(options.port > 0 && options.port <= 65535, "--metrics-port {} is not a TCP port",
            options.port);
  ECG_CHECK(local_rank >= 0, "local rank {} is negative", local_rank);
  const int first = options.port + local_rank;
  ECG_CHECK(first <= 65535, "--metrics-port {} + local rank {} exceeds 65535", options.port,
            local_rank);
  const int tries = options.port_auto ? options.port_auto_range : 1;
  std::string why;
  bool in_use = false;
  int port = first;
  for (; port < first + tries && port <= 65535; ++port) {
    endpoint_ = try_serve(options.bind, port, registry_, why, in_use);
    if (endpoint_) break;
    if (options.port_auto) {
      log::debug("metrics port {} unavailable ({}), trying the next",
                 listen_address(options.bind, port), why);
    }
  }
  if (!endpoint_) {
    if (options.port_auto) {
      ECG_FAIL("--metrics-port-auto: no free port in {}..{} on {} (last error: {})", first,
               port - 1, options.bind, why);
    }
    ECG_FAIL("--metrics-port: cannot listen on {} (rank {}: base port {} + local rank {}): {}; {}",
             listen_address(options.bind, first), rank, options.port, local_rank, why,
             in_use ? "choose another --metrics-port or pass --metrics-port-auto"
                    : "check --metrics-bind (an IPv4 address of this node, or 0.0.0.0)");
  }
  port_ = port;
  target_ = scrape_host(options.bind) + ":" + std::to_string(port_);
  if (port_ != first) {
    log::warn("metrics port {} was taken; serving /metrics on {} instead", first,
              listen_address(options.bind, port_));
  }
  log::info("serving Prometheus metrics on http://{}/metrics", listen_address(options.bind, port_));
  if (!options.sd_dir.empty()) {
    sd_target_ = std::make_unique<FileSdTarget>(options.sd_dir, file_sd_file_name(rank), target_,
                                                job_target_labels());
  }
}

MetricsExporter::~MetricsExporter() {
  // Withdraw from discovery before the endpoint goes away.
  sd_target_.reset();
  endpoint_.reset();
}

std::string MetricsExporter::sd_file() const {
  return sd_target_ ? sd_target_->path() : "";
}

}  // namespace ecg::monitoring
