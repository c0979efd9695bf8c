// libFuzzer target for the /metrics endpoint's request handling: arbitrary bytes, as one client
// could send them on one connection, go through respond_to_request_bytes (Beast's size-limited
// parser, then the routing), with no socket. Besides the sanitizers' findings, it traps when the
// answer is not what the endpoint may write: nothing, or HTTP/1.1 responses starting at byte 0.
// Seeds: tests/fuzz/corpus/http_request/.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "monitoring/http_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view raw(reinterpret_cast<const char*>(data), size);
  std::size_t renders = 0;
  const ecg::monitoring::RenderMetrics render = [&renders] {
    ++renders;
    return std::string("# TYPE ecgdist_up gauge\necgdist_up 1\n");
  };
  const std::string out = ecg::monitoring::respond_to_request_bytes(raw, render);
  if (!out.empty() && out.rfind("HTTP/1.1 ", 0) != 0) __builtin_trap();
  // Every render answers a request of at least "GET / HTTP/1.1\r\n\r\n" (18 bytes); more renders
  // than that would mean one request was answered twice.
  if (renders > size / 18) __builtin_trap();
  return 0;
}
