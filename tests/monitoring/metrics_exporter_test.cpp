// The per-rank /metrics endpoint: served over real HTTP, a taken port is a clear error naming
// the address, --metrics-port-auto moves on to the next free port, local rank offsets the port.
#include "monitoring/metrics_exporter.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "common/error.h"
#include "monitoring/training_metrics.h"
#include "tests/test_util.h"

namespace ecg::monitoring {
namespace {

// A loopback socket listening on an ephemeral port: "someone else" holding a port.
class PortHolder {
 public:
  PortHolder() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(fd_, 4), 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~PortHolder() { ::close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// Whether 127.0.0.1:port can be bound right now (with SO_REUSEADDR, as the endpoint binds, so
// TIME_WAIT leftovers do not count as taken).
bool loopback_port_free(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

MetricsOptions loopback(int port) {
  MetricsOptions o;
  o.port = port;
  o.bind = "127.0.0.1";
  return o;
}

std::string http_get(int port) {
  auto r = testing::run_python(
      "import urllib.request\n"
      "print(urllib.request.urlopen('http://127.0.0.1:" +
      std::to_string(port) + "/metrics', timeout=5).read().decode())\n");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return r.output;
}

TEST(MetricsExporter, ServesTheRegistryOverHttp) {
  TrainingMetrics metrics(1, 2);
  metrics.on_step(StepTimes{0, 0.5, 0, 0, 0}, 32, 0.5, 0.01, 0);
  const int port = PortHolder().port();  // a port the kernel just handed out and released
  MetricsExporter exporter(loopback(port), 1, 0, metrics.registry());
  ASSERT_TRUE(exporter.enabled());
  EXPECT_EQ(exporter.port(), port);
  EXPECT_EQ(exporter.target(), "127.0.0.1:" + std::to_string(port));
  const std::string body = http_get(port);
  EXPECT_NE(body.find("ecgdist_samples_total{rank=\"1\"} 32"), std::string::npos) << body;
}

TEST(MetricsExporter, PortInUseIsAnErrorNamingTheAddress) {
  TrainingMetrics metrics(0, 1);
  PortHolder holder;
  try {
    MetricsExporter exporter(loopback(holder.port()), 0, 0, metrics.registry());
    FAIL() << "expected an error for a port in use";
  } catch (const ecg::Error& e) {
    const std::string msg = e.message();
    EXPECT_NE(msg.find("127.0.0.1:" + std::to_string(holder.port())), std::string::npos) << msg;
    EXPECT_NE(msg.find("Address already in use"), std::string::npos) << msg;
    EXPECT_NE(msg.find("--metrics-port-auto"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "one line: " << msg;
  }
}

TEST(MetricsExporter, ForeignBindAddressIsAnErrorNamingTheFlag) {
  TrainingMetrics metrics(0, 1);
  MetricsOptions o = loopback(PortHolder().port());
  o.bind = "192.0.2.1";  // TEST-NET-1 (RFC 5737): never an address of this machine
  try {
    MetricsExporter exporter(o, 0, 0, metrics.registry());
    FAIL() << "expected an error";
  } catch (const ecg::Error& e) {
    EXPECT_NE(e.message().find("192.0.2.1:"), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("Cannot assign requested address"), std::string::npos)
        << e.message();
    EXPECT_NE(e.message().find("check --metrics-bind"), std::string::npos) << e.message();
  }
}

TEST(MetricsExporter, PortAutoTakesTheNextFreePort) {
  TrainingMetrics metrics(0, 1);
  PortHolder holder;
  int expected = holder.port() + 1;
  while (!loopback_port_free(expected)) ++expected;
  MetricsOptions o = loopback(holder.port());
  o.port_auto = true;
  MetricsExporter exporter(o, 0, 0, metrics.registry());
  EXPECT_EQ(exporter.port(), expected);
  EXPECT_NE(http_get(exporter.port()).find("ecgdist_world_size{rank=\"0\"} 1"), std::string::npos);
}

TEST(MetricsExporter, PortAutoGivesUpAfterItsRange) {
  TrainingMetrics metrics(0, 1);
  PortHolder holder;
  MetricsOptions o = loopback(holder.port());
  o.port_auto = true;
  o.port_auto_range = 1;
  try {
    MetricsExporter exporter(o, 0, 0, metrics.registry());
    FAIL() << "expected an error";
  } catch (const ecg::Error& e) {
    EXPECT_NE(e.message().find("--metrics-port-auto: no free port"), std::string::npos)
        << e.message();
  }
}

TEST(MetricsExporter, LocalRankOffsetsTheBasePort) {
  TrainingMetrics metrics(3, 4);
  PortHolder holder;  // base port held by "local rank 0"
  int base = holder.port();
  if (!loopback_port_free(base + 2)) GTEST_SKIP() << "port taken meanwhile";
  MetricsExporter exporter(loopback(base), 3, 2, metrics.registry());
  EXPECT_EQ(exporter.port(), base + 2);
}

TEST(MetricsExporter, OffByDefaultAndSdDirNeedsAPort) {
  TrainingMetrics metrics(0, 1);
  MetricsOptions o;
  MetricsExporter off(o, 0, 0, metrics.registry());
  EXPECT_FALSE(off.enabled());
  EXPECT_EQ(off.sd_file(), "");
  o.sd_dir = "/tmp/somewhere";
  EXPECT_THROW(MetricsExporter(o, 0, 0, metrics.registry()), ecg::Error);
}

TEST(MetricsExporter, ListenAddressSyntax) {
  EXPECT_EQ(listen_address("0.0.0.0", 9400), "0.0.0.0:9400");
  EXPECT_EQ(listen_address("", 9400), "0.0.0.0:9400");
  EXPECT_EQ(listen_address("::1", 9400), "[::1]:9400");
  EXPECT_EQ(listen_address("[::]", 9400), "[::]:9400");
}

}  // namespace
}  // namespace ecg::monitoring
