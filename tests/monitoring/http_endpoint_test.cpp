// The Boost.Asio/Beast /metrics endpoint over real sockets: status codes, HEAD, IPv6 loopback, a
// taken port as a system_error, keep-alive and pipelining, refused requests answered and closed,
// and silent, dribbling or garbage clients that cannot block a scrape. What each request gets is
// tested without sockets in http_request_test.cpp.
#include "monitoring/http_endpoint.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

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

// A raw client socket: what the server sends back is read with a deadline.
class Client {
 public:
  explicit Client(int port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    timeval poll{0, 100 * 1000};  // recv returns every 100 ms so deadlines are kept
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &poll, sizeof poll);
  }
  ~Client() { ::close(fd_); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return connected_; }
  bool send(const std::string& bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(bytes.size());
  }
  // Reads until the server closes (true) or `timeout` passes (false); received() has the bytes.
  bool read_until_closed(std::chrono::milliseconds timeout) {
    return read_while([] { return true; }, timeout);
  }
  // Reads until the bytes received contain `text` (true) or `timeout` passes or the server closes.
  bool read_until(const std::string& text, std::chrono::milliseconds timeout) {
    read_while([&] { return received_.find(text) == std::string::npos; }, timeout);
    return received_.find(text) != std::string::npos;
  }
  const std::string& received() const { return received_; }
  bool closed() const { return closed_; }

 private:
  template <class More>
  bool read_while(More more, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    char chunk[4096];
    while (!closed_ && more() && std::chrono::steady_clock::now() < deadline) {
      const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n > 0) received_.append(chunk, static_cast<size_t>(n));
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) closed_ = true;
    }
    return closed_;
  }

  int fd_;
  bool connected_ = false;
  bool closed_ = false;
  std::string received_;
};

int count(const std::string& haystack, const std::string& needle) {
  int n = 0;
  for (auto at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1))
    ++n;
  return n;
}

constexpr std::chrono::seconds kQuick(3);  // far below the endpoint's 10 s timeout

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

TEST(HttpMetricsEndpoint, KeepsHttp11ConnectionsAliveAndAnswersPipelinedRequestsInOrder) {
  std::atomic<int> renders{0};
  HttpMetricsEndpoint endpoint("127.0.0.1", 0,
                               [&] { return "n " + std::to_string(++renders) + "\n"; });
  Client client(endpoint.port());
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.send("GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n"));
  ASSERT_TRUE(client.read_until("\r\n\r\nn 1\n", kQuick)) << client.received();
  EXPECT_FALSE(client.closed());
  // The same connection, three requests in one write.
  ASSERT_TRUE(
      client.send("GET /metrics HTTP/1.1\r\n\r\nGET /other HTTP/1.1\r\n\r\n"
                  "GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n"));
  ASSERT_TRUE(client.read_until_closed(kQuick)) << client.received();
  const auto& got = client.received();
  EXPECT_EQ(count(got, "HTTP/1.1 200 OK\r\n"), 3) << got;
  EXPECT_EQ(count(got, "HTTP/1.1 404 Not Found\r\n"), 1) << got;
  EXPECT_LT(got.find("n 2\n"), got.find("404 Not Found")) << got;
  EXPECT_LT(got.find("404 Not Found"), got.find("n 3\n")) << got;
  EXPECT_EQ(renders.load(), 3);
}

TEST(HttpMetricsEndpoint, Http10GetsOneResponseThenClose) {
  HttpMetricsEndpoint endpoint("127.0.0.1", 0, [] { return std::string("m 1\n"); });
  Client client(endpoint.port());
  ASSERT_TRUE(client.send("GET /metrics HTTP/1.0\r\n\r\n"));
  ASSERT_TRUE(client.read_until_closed(kQuick)) << client.received();
  EXPECT_EQ(client.received().rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << client.received();
  EXPECT_NE(client.received().find("Connection: close\r\n"), std::string::npos);
  EXPECT_EQ(client.received().substr(client.received().size() - 4), "m 1\n");
}

TEST(HttpMetricsEndpoint, RefusedRequestsAreAnsweredAndClosed) {
  HttpMetricsEndpoint endpoint("127.0.0.1", 0, [] { return std::string("m 1\n"); });
  struct Case {
    std::string bytes;
    std::string status;
  };
  const std::vector<Case> cases = {
      {"GET /metrics HTTP/1.1\r\nX-Big: " + std::string(64 * 1024, 'a') + "\r\n\r\n", "431"},
      {"GET /" + std::string(20000, 'm') + " HTTP/1.1\r\n\r\n", "431"},
      // Closed at once although the promised body never comes: it is not waited for.
      {"POST /metrics HTTP/1.1\r\nContent-Length: 1000000000000\r\n\r\n", "413"},
      // The body the client goes on sending is dropped, not read into memory, and does not turn
      // the close into a reset that would lose the 413.
      {"PUT /metrics HTTP/1.1\r\nContent-Length: 100000\r\n\r\n" + std::string(100000, 'b'), "413"},
      {"HELLO\r\n\r\n", "400"},
      {"GET /metrics HTTP/1.1 extra\r\n\r\n", "400"},
  };
  for (const auto& c : cases) {
    Client client(endpoint.port());
    ASSERT_TRUE(client.connected());
    client.send(c.bytes);  // the server may close before taking all of it
    EXPECT_TRUE(client.read_until_closed(kQuick)) << c.status << ": " << client.received();
    EXPECT_EQ(client.received().rfind("HTTP/1.1 " + c.status + " ", 0), 0u)
        << c.bytes.substr(0, 60) << " -> " << client.received();
    EXPECT_NE(client.received().find("Connection: close\r\n"), std::string::npos);
  }
}

TEST(HttpMetricsEndpoint, GarbageAndStuckClientsDoNotStopScrapes) {
  HttpMetricsEndpoint endpoint("127.0.0.1", 0, [] { return std::string("m 1\n"); });
  // More open connections than the endpoint keeps (64): silent ones, half-sent requests, and
  // binary garbage.
  std::vector<std::unique_ptr<Client>> stuck;
  for (int i = 0; i < 150; ++i) {
    stuck.push_back(std::make_unique<Client>(endpoint.port()));
    ASSERT_TRUE(stuck.back()->connected());
    if (i % 3 == 1) stuck.back()->send("GET /metr");
    if (i % 3 == 2)
      stuck.back()->send(std::string("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n", 15));
  }
  for (int scrape = 0; scrape < 3; ++scrape) {
    const auto start = std::chrono::steady_clock::now();
    EXPECT_NE(request("127.0.0.1", endpoint.port(), "GET", "/metrics").find("'m 1\\n'"),
              std::string::npos);
    EXPECT_LT(std::chrono::steady_clock::now() - start, kQuick);
  }
  // The oldest stuck connections were closed to make room; the garbage ones got a 400.
  EXPECT_TRUE(stuck.front()->read_until_closed(std::chrono::milliseconds(500)));
  EXPECT_TRUE(stuck[2]->read_until_closed(std::chrono::milliseconds(500)));
}

TEST(HttpMetricsEndpoint, DribblingClientIsDroppedAfterTenSeconds) {
  HttpMetricsEndpoint endpoint("127.0.0.1", 0, [] { return std::string("m 1\n"); });
  Client client(endpoint.port());
  const std::string request_bytes = "GET /metrics HTTP/1.1\r\nX-Slow: " + std::string(100, 'a');
  const auto start = std::chrono::steady_clock::now();
  // One byte every 500 ms: each read makes progress, but the whole request has 10 s.
  for (char byte : request_bytes) {
    if (!client.send(std::string(1, byte)) ||
        client.read_until_closed(std::chrono::milliseconds(500)))
      break;
  }
  const auto held = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(client.closed());
  EXPECT_GE(held, std::chrono::seconds(9));
  EXPECT_LT(held, std::chrono::seconds(13));
  EXPECT_EQ(client.received(), "");  // dropped, not answered
}

}  // namespace
}  // namespace ecg::monitoring
