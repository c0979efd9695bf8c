// A minimal HTTP/1.1 endpoint for Prometheus scrapes, on Boost.Asio: GET (or HEAD) /metrics
// answers the text exposition format that `render` returns; anything else is 404/405. One
// background thread serves all connections asynchronously, each connection answers one request
// and closes (Prometheus reconnects per scrape), and a client that sends nothing is dropped
// after 10 s, so a stuck scraper can never hold the endpoint.
//
// Why not prometheus-cpp's pull Exposer (civetweb): Debian 12's civetweb starts its threads with
// a fixed 100 KiB stack (pthread_attr_setstacksize(102400)), and glibc places the static TLS of
// every loaded library on each thread's stack. In ecgdist (LibTorch + OpenBLAS + NCCL: 124,674
// bytes of static TLS, measured with readelf) pthread_create fails with EINVAL, mg_start returns
// NULL and the Exposer cannot start at all. Threads created here get the default stack.
#pragma once

#include <functional>
#include <memory>
#include <string>

namespace ecg::monitoring {

class HttpMetricsEndpoint {
 public:
  using Render = std::function<std::string()>;

  // Listens on host:port (numeric IPv4 or IPv6; port 0 = any free port) and starts serving.
  // Throws std::system_error when the address cannot be bound; code() is the OS error
  // (std::errc::address_in_use for a taken port).
  HttpMetricsEndpoint(const std::string& host, int port, Render render);
  ~HttpMetricsEndpoint();
  HttpMetricsEndpoint(const HttpMetricsEndpoint&) = delete;
  HttpMetricsEndpoint& operator=(const HttpMetricsEndpoint&) = delete;

  int port() const;  // the bound port

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ecg::monitoring
