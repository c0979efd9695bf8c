#include "monitoring/http_request.h"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/write.hpp>
#include <exception>
#include <sstream>

namespace ecg::monitoring {
namespace {

namespace http = boost::beast::http;

// We always answer as HTTP/1.1, the highest version we implement (RFC 9110 section 6.2); a 1.0
// client reads a 1.1 response with Content-Length and Connection: close like its own.
constexpr unsigned kResponseVersion = 11;

HttpResponse text_response(http::status status, std::string body, bool head_only, bool keep_alive) {
  HttpResponse response(status, kResponseVersion);
  response.set(http::field::content_type, "text/plain; charset=utf-8");
  response.keep_alive(keep_alive);
  // HEAD announces the length the GET body would have (RFC 9110 section 9.3.2) and sends none.
  response.content_length(body.size());
  if (!head_only) response.body() = std::move(body);
  return response;
}

}  // namespace

void limit_request_parser(HttpRequestParser& parser) {
  parser.header_limit(kHttpHeaderLimit);
  parser.body_limit(kHttpBodyLimit);
  // Parse the body in the same pass as the header when it is already buffered, so that a
  // pipelined request after it is reached without another read.
  parser.eager(true);
}

HttpResponse respond_to_request(const HttpRequest& request, const RenderMetrics& render) {
  // HTTP/1.0 keep-alive is an extension with its own response header; Prometheus speaks 1.1, so
  // 1.0 clients get one request per connection.
  const bool keep_alive = request.version() == 11 && request.keep_alive();
  const bool head = request.method() == http::verb::head;
  if (request.method() != http::verb::get && !head) {
    auto response =
        text_response(http::status::method_not_allowed, "only GET and HEAD\n", false, keep_alive);
    response.set(http::field::allow, "GET, HEAD");  // required with a 405 (RFC 9110 15.5.6)
    return response;
  }
  const auto target = request.target();
  const auto path = target.substr(0, target.find('?'));
  if (path != "/metrics") {
    return text_response(http::status::not_found, "ecgdist serves /metrics\n", head, keep_alive);
  }
  std::string body;
  try {
    body = render();
  } catch (const std::exception& e) {
    // The endpoint's thread must survive a failing collector; Prometheus records the 500 as a
    // failed scrape (up == 0), which is what it is.
    return text_response(http::status::internal_server_error,
                         std::string("rendering metrics failed: ") + e.what() + "\n", head, false);
  }
  auto response = text_response(http::status::ok, std::move(body), head, keep_alive);
  response.set(http::field::content_type, kExpositionContentType);
  return response;
}

bool is_refused_request(const boost::system::error_code& parse_error) {
  if (parse_error.category() != http::make_error_code(http::error::bad_target).category()) {
    return false;  // timeouts, resets, aborted operations
  }
  // A connection that ends (cleanly or mid-request) has nobody left to answer.
  return parse_error != http::error::end_of_stream && parse_error != http::error::partial_message &&
         parse_error != http::error::need_more;
}

HttpResponse respond_to_refused_request(const boost::system::error_code& parse_error) {
  if (parse_error == http::error::header_limit) {
    return text_response(http::status::request_header_fields_too_large,
                         "request header over " + std::to_string(kHttpHeaderLimit) + " bytes\n",
                         false, false);
  }
  if (parse_error == http::error::body_limit) {
    return text_response(http::status::payload_too_large,
                         "request body over " + std::to_string(kHttpBodyLimit) + " bytes\n", false,
                         false);
  }
  // Beast's messages are fixed strings ("bad target", "bad version", ...), never client bytes.
  return text_response(http::status::bad_request, "bad request: " + parse_error.message() + "\n",
                       false, false);
}

std::string respond_to_request_bytes(std::string_view raw, const RenderMetrics& render) {
  std::ostringstream out;
  while (!raw.empty()) {
    HttpRequestParser parser;
    limit_request_parser(parser);
    boost::system::error_code ec;
    // put() stops after one message; like Beast's read loop, call it again while it progresses.
    while (!parser.is_done()) {
      const auto used = parser.put(boost::asio::buffer(raw.data(), raw.size()), ec);
      raw.remove_prefix(used);
      if (ec || used == 0) break;
    }
    if (ec == http::error::need_more || (!ec && !parser.is_done())) {
      return out.str();  // incomplete: the socket would wait for more, then time out silently
    }
    if (ec) {
      out << respond_to_refused_request(ec);
      return out.str();
    }
    const auto response = respond_to_request(parser.get(), render);
    out << response;
    if (!response.keep_alive()) break;
  }
  return out.str();
}

}  // namespace ecg::monitoring
