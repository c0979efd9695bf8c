// What the /metrics endpoint answers to raw request bytes, without sockets: routing, HEAD, the
// parser's size limits, malformed requests, pipelining and keep-alive (HTTP/1.1 vs 1.0).
#include "monitoring/http_request.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace ecg::monitoring {
namespace {

const RenderMetrics kRender = [] { return std::string("ecgdist_up 1\n"); };

// The status codes of the responses in `bytes`, in order. Our bodies never contain "HTTP/1.1 ".
std::vector<int> statuses(const std::string& bytes) {
  std::vector<int> out;
  for (auto at = bytes.find("HTTP/1.1 "); at != std::string::npos;
       at = bytes.find("HTTP/1.1 ", at + 1)) {
    out.push_back(std::stoi(bytes.substr(at + 9, 3)));
  }
  return out;
}

bool has(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(HttpRequest, GetMetricsIsExpositionFormatAndKeepsAlive) {
  const auto out = respond_to_request_bytes(
      "GET /metrics HTTP/1.1\r\nHost: rank0:9400\r\nUser-Agent: Prometheus/2.42.0\r\n"
      "Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5\r\n"
      "Accept-Encoding: gzip\r\nX-Prometheus-Scrape-Timeout-Seconds: 5\r\n\r\n",
      kRender);
  EXPECT_EQ(out.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << out;
  EXPECT_TRUE(has(out, "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n")) << out;
  EXPECT_TRUE(has(out, "Content-Length: 13\r\n")) << out;
  EXPECT_FALSE(has(out, "Connection: close")) << out;
  EXPECT_EQ(out.substr(out.size() - 17), "\r\n\r\necgdist_up 1\n") << out;
}

TEST(HttpRequest, QueryStringIsIgnoredAndHeadHasLengthButNoBody) {
  EXPECT_EQ(statuses(respond_to_request_bytes("GET /metrics?x=1&y HTTP/1.1\r\n\r\n", kRender)),
            std::vector<int>{200});
  const auto head = respond_to_request_bytes("HEAD /metrics HTTP/1.1\r\n\r\n", kRender);
  EXPECT_EQ(statuses(head), std::vector<int>{200});
  EXPECT_TRUE(has(head, "Content-Length: 13\r\n")) << head;
  EXPECT_EQ(head.substr(head.size() - 4), "\r\n\r\n") << head;
}

TEST(HttpRequest, OtherPathsAre404AndOtherMethods405WithAllow) {
  EXPECT_EQ(statuses(respond_to_request_bytes("GET / HTTP/1.1\r\n\r\n", kRender)),
            std::vector<int>{404});
  EXPECT_EQ(statuses(respond_to_request_bytes("GET /metricsX HTTP/1.1\r\n\r\n", kRender)),
            std::vector<int>{404});
  const auto post = respond_to_request_bytes("POST /metrics HTTP/1.1\r\n\r\n", kRender);
  EXPECT_EQ(statuses(post), std::vector<int>{405});
  EXPECT_TRUE(has(post, "Allow: GET, HEAD\r\n")) << post;
  EXPECT_EQ(statuses(respond_to_request_bytes("BREW /metrics HTTP/1.1\r\n\r\n", kRender)),
            std::vector<int>{405});
}

TEST(HttpRequest, PipelinedRequestsAnsweredInOrderUntilConnectionClose) {
  int renders = 0;
  const RenderMetrics render = [&] { return "n " + std::to_string(++renders) + "\n"; };
  const auto out = respond_to_request_bytes(
      "GET /metrics HTTP/1.1\r\n\r\n"
      "GET /nope HTTP/1.1\r\n\r\n"
      "POST /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"  // a small body is skipped
      "HEAD /metrics HTTP/1.1\r\nConnection: close\r\n\r\n"
      "GET /metrics HTTP/1.1\r\n\r\n",  // after close: never answered
      render);
  EXPECT_EQ(statuses(out), (std::vector<int>{200, 404, 405, 200})) << out;
  EXPECT_EQ(renders, 2);
  EXPECT_TRUE(has(out, "\r\n\r\nn 1\n")) << out;
  const auto last = out.substr(out.rfind("HTTP/1.1 "));
  EXPECT_TRUE(has(last, "Connection: close\r\n")) << out;
  EXPECT_EQ(last.substr(last.size() - 4), "\r\n\r\n") << out;  // HEAD: no body
}

TEST(HttpRequest, Http10GetsOneResponseAndClose) {
  const auto out = respond_to_request_bytes(
      "GET /metrics HTTP/1.0\r\n\r\nGET /metrics HTTP/1.0\r\n\r\n", kRender);
  EXPECT_EQ(statuses(out), std::vector<int>{200}) << out;
  EXPECT_TRUE(has(out, "Connection: close\r\n")) << out;
  // HTTP/1.0 keep-alive is not offered either.
  EXPECT_EQ(statuses(respond_to_request_bytes(
                "GET /metrics HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.0\r\n\r\n",
                kRender)),
            std::vector<int>{200});
}

TEST(HttpRequest, OversizedHeadersAre431AndClose) {
  const std::string big_field = "X-Big: " + std::string(9000, 'a') + "\r\n";
  const auto out = respond_to_request_bytes(
      "GET /metrics HTTP/1.1\r\n" + big_field + "\r\nGET /metrics HTTP/1.1\r\n\r\n", kRender);
  EXPECT_EQ(statuses(out), std::vector<int>{431}) << out;
  EXPECT_TRUE(has(out, "Connection: close\r\n")) << out;
  // Many small fields add up the same way, and so does an endless request line.
  std::string many = "GET /metrics HTTP/1.1\r\n";
  for (int i = 0; i < 1000; ++i) many += "X-F" + std::to_string(i) + ": v\r\n";
  EXPECT_EQ(statuses(respond_to_request_bytes(many + "\r\n", kRender)), std::vector<int>{431});
  EXPECT_EQ(statuses(respond_to_request_bytes("GET /" + std::string(20000, 'm'), kRender)),
            std::vector<int>{431});
  // Just under the limit is still served.
  const std::string fits = "X-Fits: " + std::string(8000, 'a') + "\r\n";
  EXPECT_EQ(
      statuses(respond_to_request_bytes("GET /metrics HTTP/1.1\r\n" + fits + "\r\n", kRender)),
      std::vector<int>{200});
}

TEST(HttpRequest, HugeBodyIsRefusedFromItsContentLengthAlone) {
  // No body bytes follow: a 413 here proves the parser refused it without waiting for (or
  // allocating) a terabyte.
  const auto out = respond_to_request_bytes(
      "POST /metrics HTTP/1.1\r\nContent-Length: 1000000000000\r\n\r\n", kRender);
  EXPECT_EQ(statuses(out), std::vector<int>{413}) << out;
  EXPECT_TRUE(has(out, "Connection: close\r\n")) << out;
  EXPECT_EQ(statuses(respond_to_request_bytes(
                "GET /metrics HTTP/1.1\r\nContent-Length: 1025\r\n\r\n", kRender)),
            std::vector<int>{413});
  // A chunked body is counted as its chunk sizes arrive.
  EXPECT_EQ(statuses(respond_to_request_bytes(
                "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFF\r\n", kRender)),
            std::vector<int>{413});
}

TEST(HttpRequest, SmallChunkedBodyIsReadAndTheNextRequestServed) {
  EXPECT_EQ(statuses(respond_to_request_bytes(
                "POST /metrics HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                "5\r\nhello\r\n0\r\n\r\nGET /metrics HTTP/1.1\r\n\r\n",
                kRender)),
            (std::vector<int>{405, 200}));
}

TEST(HttpRequest, MalformedRequestsAre400AndClose) {
  const std::vector<std::string> malformed = {
      "GARBAGE\r\n\r\n",
      "GET /metrics\r\n\r\n",
      "GET /metrics HTTP/x.y\r\n\r\n",
      "GET  HTTP/1.1\r\n\r\n",
      "G(T /metrics HTTP/1.1\r\n\r\n",
      "GET /met rics HTTP/1.1\r\n\r\n",
      "GET /metrics HTTP/1.1\r\nNo colon here\r\n\r\n",
      "GET /metrics HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
      "GET /metrics HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
      std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 15)};
  for (const auto& raw : malformed) {
    const auto out = respond_to_request_bytes(raw + "GET /metrics HTTP/1.1\r\n\r\n", kRender);
    EXPECT_EQ(statuses(out), std::vector<int>{400}) << raw << "\n->\n" << out;
    EXPECT_TRUE(has(out, "Connection: close\r\n")) << out;
  }
}

TEST(HttpRequest, VersionsOtherThanHttp10And11Are400) {
  // Beast's parser refuses them (bad version); HTTP/2 would start with its preface instead.
  for (const char* raw : {"GET /metrics HTTP/2.0\r\n\r\n", "GET /metrics HTTP/0.9\r\n\r\n",
                          "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"}) {
    EXPECT_EQ(statuses(respond_to_request_bytes(raw, kRender)), std::vector<int>{400}) << raw;
  }
}

TEST(HttpRequest, IncompleteRequestGetsNoAnswer) {
  EXPECT_EQ(respond_to_request_bytes("", kRender), "");
  EXPECT_EQ(respond_to_request_bytes("GET /metr", kRender), "");
  EXPECT_EQ(respond_to_request_bytes("GET /metrics HTTP/1.1\r\nHost: x\r\n", kRender), "");
  EXPECT_EQ(respond_to_request_bytes("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc", kRender),
            "");
  // Answered requests before an incomplete one still are.
  EXPECT_EQ(statuses(respond_to_request_bytes("GET /metrics HTTP/1.1\r\n\r\nGET /me", kRender)),
            std::vector<int>{200});
}

TEST(HttpRequest, FailingRenderIs500AndClose) {
  const RenderMetrics throws = []() -> std::string { throw std::runtime_error("collector broke"); };
  const auto out = respond_to_request_bytes(
      "GET /metrics HTTP/1.1\r\n\r\nGET /metrics HTTP/1.1\r\n\r\n", throws);
  EXPECT_EQ(statuses(out), std::vector<int>{500}) << out;
  EXPECT_TRUE(has(out, "collector broke")) << out;
  EXPECT_TRUE(has(out, "Connection: close\r\n")) << out;
}

}  // namespace
}  // namespace ecg::monitoring
