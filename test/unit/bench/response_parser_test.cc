#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "response_parser.h"
#include "status.h"

using raftkv::bench::ResponseParser;

namespace {

struct Collected {
  std::vector<int> statuses;
  std::vector<std::string> bodies;
};

void collect(void* context, int status, std::string_view body) {
  auto* c = static_cast<Collected*>(context);
  c->statuses.push_back(status);
  c->bodies.emplace_back(body);
}

// Three pipelined answers on one keep-alive connection: a sized body, a
// chunked body and an empty one, preceded by an interim 100 Continue.
const std::string kStream =
    "HTTP/1.1 100 Continue\r\n\r\n"
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
    "HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n"
    "4\r\n{\"er\r\n3\r\nr\":\r\n0\r\n\r\n"
    "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";

}  // namespace

TEST_CASE("pipelined responses split at every byte boundary", "[bench][parser]") {
  for (std::size_t split = 0; split <= kStream.size(); ++split) {
    Collected got;
    ResponseParser parser(&collect, &got);
    parser.set_capture_body(true);
    INFO("split at " << split);
    REQUIRE(parser.feed(kStream.data(), split));
    REQUIRE(parser.feed(kStream.data() + split, kStream.size() - split));
    REQUIRE(got.statuses == std::vector<int>{200, 503, 404});
    REQUIRE(got.bodies == std::vector<std::string>{"hello", "{\"err\":", ""});
    REQUIRE_FALSE(parser.mid_message());
    REQUIRE(parser.finish());
  }
}

TEST_CASE("responses fed one byte at a time", "[bench][parser]") {
  Collected got;
  ResponseParser parser(&collect, &got);  // no body capture: bodies stay empty
  for (const char c : kStream) REQUIRE(parser.feed(&c, 1));
  REQUIRE(got.statuses == std::vector<int>{200, 503, 404});
  REQUIRE(got.bodies == std::vector<std::string>{"", "", ""});
}

TEST_CASE("a body delimited by end of stream completes at finish", "[bench][parser]") {
  Collected got;
  ResponseParser parser(&collect, &got);
  parser.set_capture_body(true);
  const std::string data = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil eof";
  REQUIRE(parser.feed(data.data(), data.size()));
  REQUIRE(got.statuses.empty());
  REQUIRE(parser.finish());
  REQUIRE(got.statuses == std::vector<int>{200});
  REQUIRE(got.bodies.front() == "until eof");
}

TEST_CASE("truncated and malformed responses are errors", "[bench][parser]") {
  Collected got;
  ResponseParser parser(&collect, &got);
  const std::string truncated = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
  REQUIRE(parser.feed(truncated.data(), truncated.size()));
  REQUIRE_FALSE(parser.finish());
  parser.reset();
  const std::string garbage = "NOT HTTP AT ALL\r\n\r\n";
  REQUIRE_FALSE(parser.feed(garbage.data(), garbage.size()));
  REQUIRE(std::string(parser.error()) != "");
  REQUIRE(got.statuses.empty());
}

TEST_CASE("the leader's HTTP address from /status", "[bench][status]") {
  std::string error;
  const std::string body =
      R"({"id": 0, "role": "follower", "term": 3, "leader": 2, "commit_index": 9,)"
      R"( "members": [{"id": 0, "raft": "127.0.0.1:3030", "http": "127.0.0.1:2020", "voter": true},)"
      R"( {"id": 2, "raft": "127.0.0.1:3032", "http": "127.0.0.1:2022", "voter": true}]})";
  auto leader = raftkv::bench::leader_from_status(body, &error);
  REQUIRE(leader);
  REQUIRE(leader->to_string() == "127.0.0.1:2022");
  REQUIRE_FALSE(raftkv::bench::leader_from_status(R"({"leader": null, "members": []})", &error));
  REQUIRE(error == "no leader known");
  REQUIRE_FALSE(raftkv::bench::leader_from_status(R"({"leader": 5, "members": []})", &error));
}
