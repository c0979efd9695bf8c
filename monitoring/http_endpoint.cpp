#include "monitoring/http_endpoint.h"

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/optional.hpp>
#include <chrono>
#include <list>
#include <system_error>
#include <thread>

#include "monitoring/http_request.h"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace ecg::monitoring {
namespace {

// A whole request (or the wait for the next one on a kept-alive connection) and a whole response
// each get this long, so a silent or dribbling client holds a connection for at most this.
constexpr auto kIoTimeout = std::chrono::seconds(10);
// After the last response the socket is half-closed and what the client still sends is read and
// dropped for a moment before closing: closing with unread bytes makes the kernel send RST, which
// can destroy the response in flight (a refused request's body usually is such bytes).
constexpr auto kLingerTimeout = std::chrono::seconds(1);
constexpr std::size_t kLingerBytes = 64 * 1024;
// Beyond this many open connections the oldest is closed for each new one: a real scrape takes
// milliseconds, so the oldest connection is an idle or stuck client, and a flood of them can
// neither starve scrapes nor use up the trainer's file descriptors.
constexpr std::size_t kMaxConnections = 64;
// The parser refuses a header over kHttpHeaderLimit before the buffer fills; this bound only
// keeps Beast's buffer from growing on its own.
constexpr std::size_t kReadBufferBytes = 2 * kHttpHeaderLimit;
// After a failed accept (e.g. EMFILE) the listening socket stays readable; retrying at once
// would spin the endpoint's thread on a core the trainer needs.
constexpr auto kAcceptRetry = std::chrono::milliseconds(100);

class Session;
using Connections = std::list<std::weak_ptr<Session>>;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const RenderMetrics& render, Connections& connections)
      : stream_(std::move(socket)),
        buffer_(kReadBufferBytes),
        render_(render),
        connections_(connections) {}

  void start() {
    place_ = connections_.insert(connections_.end(), weak_from_this());
    read_request();
  }

  // Ends the connection now; pending operations complete with an error and release the session.
  void close() {
    if (place_) {
      connections_.erase(*place_);
      place_.reset();
    }
    boost::system::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

 private:
  void read_request() {
    parser_.emplace();
    limit_request_parser(*parser_);
    stream_.expires_after(kIoTimeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                       self->on_request(ec);
                     });
  }

  void on_request(const boost::system::error_code& ec) {
    if (!ec) return write(respond_to_request(parser_->get(), render_));
    if (is_refused_request(ec)) return write(respond_to_refused_request(ec));
    close();  // timeout, the client went away, or close() from eviction
  }

  void write(HttpResponse response) {
    response_ = std::move(response);
    stream_.expires_after(kIoTimeout);
    http::async_write(
        stream_, response_,
        [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
          if (ec) return self->close();
          if (self->response_.keep_alive()) return self->read_request();
          self->linger();
        });
  }

  void linger() {
    boost::system::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(kLingerTimeout);
    discard();
  }

  void discard() {
    stream_.async_read_some(
        asio::buffer(discarded_),
        [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
          self->lingered_ += n;
          if (ec || self->lingered_ >= kLingerBytes) return self->close();
          self->discard();
        });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  boost::optional<HttpRequestParser> parser_;  // fresh per request: a parser parses one message
  HttpResponse response_;
  std::array<char, 1024> discarded_{};
  std::size_t lingered_ = 0;
  const RenderMetrics& render_;
  Connections& connections_;
  boost::optional<Connections::iterator> place_;  // in connections_ until close()
};

}  // namespace

struct HttpMetricsEndpoint::Impl {
  // Declared before io: the sessions that io's pending handlers still own refer to both.
  RenderMetrics render;
  Connections connections;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  asio::steady_timer accept_retry{io};
  std::thread thread;

  void accept() {
    acceptor.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
      if (!acceptor.is_open()) return;
      if (ec) {
        accept_retry.expires_after(kAcceptRetry);
        accept_retry.async_wait([this](const boost::system::error_code&) { accept(); });
        return;
      }
      if (connections.size() >= kMaxConnections) {
        if (auto oldest = connections.front().lock())
          oldest->close();
        else
          connections.pop_front();
      }
      std::make_shared<Session>(std::move(socket), render, connections)->start();
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
  if (ec)
    throw std::system_error(std::make_error_code(std::errc::invalid_argument),
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

int HttpMetricsEndpoint::port() const {
  return impl_->acceptor.local_endpoint().port();
}

}  // namespace ecg::monitoring
