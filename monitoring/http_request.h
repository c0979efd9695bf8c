// What the /metrics endpoint answers, decided without a socket: http_endpoint.cpp reads requests
// off the network with Boost.Beast and writes what these functions return, and the unit tests and
// the libFuzzer target (tests/fuzz/http_request_fuzz.cpp) call the same functions on raw bytes.
//
// The parser limits are the endpoint's only defence against hostile bytes, so they live here
// with the decision rather than in the socket code: a header block over 8 KiB is refused with 431,
// a body over 1 KiB (nothing we serve takes a body) with 413 as soon as Content-Length is parsed,
// so neither is read nor allocated.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/system/error_code.hpp>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace ecg::monitoring {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;
using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;
using HttpRequestParser = boost::beast::http::request_parser<boost::beast::http::string_body>;
using RenderMetrics = std::function<std::string()>;

// Request line plus header fields; Prometheus sends about 300 bytes.
inline constexpr std::uint32_t kHttpHeaderLimit = 8 * 1024;
// Large enough that a stray small POST gets its 405 instead of a 413, small enough not to matter.
inline constexpr std::uint64_t kHttpBodyLimit = 1024;

inline constexpr const char* kExpositionContentType = "text/plain; version=0.0.4; charset=utf-8";

// Applies the limits above to a fresh parser (Beast's parser cannot be moved, so it cannot be
// returned by a factory).
void limit_request_parser(HttpRequestParser& parser);

// The answer to one complete request: GET/HEAD /metrics (any query string) -> 200 with render()'s
// text, other paths 404, other methods 405, a render that throws -> 500. The connection stays open
// after it (keep_alive()) only for an HTTP/1.1 request that did not ask for Connection: close
// (Beast's parser refuses versions other than 1.0 and 1.1 with bad_version, hence 400).
HttpResponse respond_to_request(const HttpRequest& request, const RenderMetrics& render);

// True for the errors where the client sent bytes the parser refuses (as opposed to the
// connection ending or timing out, which get no answer).
bool is_refused_request(const boost::system::error_code& parse_error);

// The answer to a refused request: 431 for header_limit, 413 for body_limit, 400 otherwise;
// always Connection: close, because the parser cannot tell where the next request would start.
HttpResponse respond_to_refused_request(const boost::system::error_code& parse_error);

// The bytes the endpoint writes to a connection on which a client sent `raw` and then stopped:
// each complete (possibly pipelined) request answered in order until one closes the connection.
// An incomplete request at the end gets no answer, as on the socket, where it would time out.
std::string respond_to_request_bytes(std::string_view raw, const RenderMetrics& render);

}  // namespace ecg::monitoring
