#include "monitoring/http_endpoint.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include <chrono>
#include <istream>
#include <system_error>
#include <thread>

namespace asio = boost::asio;
using asio::ip::tcp;

namespace ecg::monitoring {
namespace {

constexpr std::size_t kMaxRequestBytes = 16 * 1024;
constexpr auto kRequestTimeout = std::chrono::seconds(10);

std::string response(int status, const char* reason, const std::string& content_type,
                     const std::string& body, bool head_only) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\n";
  out += "Content-Type: " + content_type + "\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  out += "Connection: close\r\n\r\n";
  if (!head_only) out += body;
  return out;
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const HttpMetricsEndpoint::Render& render)
      : socket_(std::move(socket)), timer_(socket_.get_executor()), request_(kMaxRequestBytes), render_(render) {}

  void start() {
    auto self = shared_from_this();
    timer_.expires_after(kRequestTimeout);
    timer_.async_wait([self](const boost::system::error_code& ec) {
      if (!ec) self->close();
    });
    asio::async_read_until(socket_, request_, "\r\n\r\n",
                           [self](const boost::system::error_code& ec, std::size_t) {
                             if (ec) return self->close();  // includes an over-long request
                             self->answer();
                           });
  }

 private:
  void answer() {
    std::istream in(&request_);
    std::string method, target;
    in >> method >> target;
    const std::string path = target.substr(0, target.find('?'));
    const bool head = method == "HEAD";
    if (method != "GET" && !head) {
      reply_ = response(405, "Method Not Allowed", "text/plain", "only GET and HEAD\n", false);
    } else if (path == "/metrics") {
      reply_ = response(200, "OK", "text/plain; version=0.0.4; charset=utf-8", render_(), head);
    } else {
      reply_ = response(404, "Not Found", "text/plain", "ecgdist serves /metrics\n", head);
    }
    auto self = shared_from_this();
    asio::async_write(socket_, asio::buffer(reply_),
                      [self](const boost::system::error_code&, std::size_t) { self->close(); });
  }

  void close() {
    boost::system::error_code ignored;
    timer_.cancel();
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  tcp::socket socket_;
  asio::steady_timer timer_;
  asio::streambuf request_;
  std::string reply_;
  const HttpMetricsEndpoint::Render& render_;
};

}  // namespace

struct HttpMetricsEndpoint::Impl {
  Render render;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::thread thread;

  void accept() {
    acceptor.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
      if (!acceptor.is_open()) return;
      if (!ec) std::make_shared<Session>(std::move(socket), render)->start();
      accept();
    });
  }
};

HttpMetricsEndpoint::HttpMetricsEndpoint(const std::string& host, int port, Render render)
    : impl_(std::make_unique<Impl>()) {
  impl_->render = std::move(render);
  auto fail = [](const boost::system::error_code& ec) {
    throw std::system_error(ec.value(), std::generic_category(), ec.message());
  };
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (ec) throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                                  "not a numeric IPv4/IPv6 address");
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(port));
  auto& acceptor = impl_->acceptor;
  if (acceptor.open(endpoint.protocol(), ec)) fail(ec);
  // As every HTTP server: a restarted rank must not wait for its old connections' TIME_WAIT.
  if (acceptor.set_option(tcp::acceptor::reuse_address(true), ec)) fail(ec);
  if (acceptor.bind(endpoint, ec)) fail(ec);
  if (acceptor.listen(asio::socket_base::max_listen_connections, ec)) fail(ec);
  impl_->accept();
  impl_->thread = std::thread([impl = impl_.get()] { impl->io.run(); });
}

HttpMetricsEndpoint::~HttpMetricsEndpoint() {
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

int HttpMetricsEndpoint::port() const { return impl_->acceptor.local_endpoint().port(); }

}  // namespace ecg::monitoring
