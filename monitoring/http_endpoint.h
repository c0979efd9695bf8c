// A minimal HTTP/1.1 endpoint for Prometheus scrapes, on Boost.Asio with Boost.Beast's parser:
// GET (or HEAD) /metrics answers the text exposition format that `render` returns; what each
// request gets is decided in http_request.h (404/405, and 400/413/431 for requests the size-limited
// parser refuses). One background thread serves all connections asynchronously.
//
// Connections are kept alive for HTTP/1.1 clients: Prometheus (Go's net/http) reuses its
// connection, and at the usual 1-5 s scrape intervals, inside the 10 s idle timeout, one connection
// per rank lasts the whole job instead of a TCP handshake and a TIME_WAIT socket per scrape.
// Pipelined requests are answered in order. A client that sends nothing, dribbles a request or
// does not read its response is dropped after 10 s, and beyond 64 open connections the oldest is
// closed, so stuck or hostile clients can never hold the endpoint or starve a scrape.
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
