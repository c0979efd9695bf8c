// The Boost.Asio /metrics endpoint over real sockets: status codes, HEAD, IPv6 loopback, a taken
// port as a system_error, and a silent client that cannot block a scrape.
#include "monitoring/http_endpoint.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <system_error>

#include "tests/test_util.h"

namespace ecg::monitoring {
namespace {

// Python's http.client: status, one header and the body of one request.
std::string request(const std::string& host, int port, const std::string& method, const std::string& path) {
  auto r = testing::run_python(
      "import http.client\n"
      "c = http.client.HTTPConnection('" + host + "', " + std::to_string(port) + ", timeout=5)\n"
      "c.request('" + method + "', '" + path + "')\n"
      "r = c.getresponse()\n"
      "print(r.status, r.getheader('Content-Type'), repr(r.read().decode()))\n");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return r.output;
}

TEST(HttpMetricsEndpoint, ServesMetricsAndOnlyMetrics) {
  std::atomic<int> renders{0};
  HttpMetricsEndpoint endpoint("127.0.0.1", 0, [&] {
    ++renders;
    return std::string("ecgdist_up 1\n");
  });
  ASSERT_GT(endpoint.port(), 0);
  auto ok = request("127.0.0.1", endpoint.port(), "GET", "/metrics?x=1");
  EXPECT_NE(ok.find("200 text/plain; version=0.0.4; charset=utf-8 'ecgdist_up 1\\n'"), std::string::npos) << ok;
  auto head = request("127.0.0.1", endpoint.port(), "HEAD", "/metrics");
  EXPECT_NE(head.find("200 text/plain; version=0.0.4; charset=utf-8 ''"), std::string::npos) << head;
  EXPECT_NE(request("127.0.0.1", endpoint.port(), "GET", "/").find("404"), std::string::npos);
  EXPECT_NE(request("127.0.0.1", endpoint.port(), "POST", "/metrics").find("405"), std::string::npos);
  EXPECT_EQ(renders.load(), 2);
}

TEST(HttpMetricsEndpoint, ServesIpv6Loopback) {
  std::unique_ptr<HttpMetricsEndpoint> endpoint;
  try {
    endpoint = std::make_unique<HttpMetricsEndpoint>("::1", 0, [] { return std::string("v6 1\n"); });
  } catch (const std::system_error& e) {
    GTEST_SKIP() << "no IPv6 loopback here: " << e.what();
  }
  EXPECT_NE(request("::1", endpoint->port(), "GET", "/metrics").find("'v6 1\\n'"), std::string::npos);
}

TEST(HttpMetricsEndpoint, TakenPortIsAddressInUse) {
  HttpMetricsEndpoint first("127.0.0.1", 0, [] { return std::string(); });
  try {
    HttpMetricsEndpoint second("127.0.0.1", first.port(), [] { return std::string(); });
    FAIL() << "second bind succeeded";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::address_in_use) << e.what();
    EXPECT_NE(std::string(e.what()).find("Address already in use"), std::string::npos) << e.what();
  }
  EXPECT_THROW(HttpMetricsEndpoint("not-an-address", 0, [] { return std::string(); }), std::system_error);
}

TEST(HttpMetricsEndpoint, SilentClientDoesNotBlockScrapes) {
  HttpMetricsEndpoint endpoint("127.0.0.1", 0, [] { return std::string("m 1\n"); });
  // A client that connects and never sends a request.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(endpoint.port()));
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_NE(request("127.0.0.1", endpoint.port(), "GET", "/metrics").find("'m 1\\n'"), std::string::npos);
  ::close(fd);
}

}  // namespace
}  // namespace ecg::monitoring
