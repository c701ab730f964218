// Per-connection timers: header (slowloris), body, idle; none while the
// handler works.
#include <catch2/catch.hpp>

#include <chrono>

#include "test_client.h"
#include "test_handlers.h"
#include "test_server.h"

using namespace raftkv::http;
using namespace raftkv::http::testing;
using Clock = std::chrono::steady_clock;

namespace {

Handler plain(uv_loop_t* loop) {
  return test_handler(loop);
}

long long ms_since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

}  // namespace

TEST_CASE("a slowloris client trickling header bytes is cut off by the header timeout") {
  Limits limits;
  limits.header_timeout_ms = 100;
  TestServer server(limits, plain);
  Client client(server.port());
  const auto start = Clock::now();
  client.send("GET / HTTP/1.1\r\n");
  // One more header byte every 20 ms: each resets no deadline.
  const std::string trickle = "X-Slow: abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopq";
  std::size_t sent = 0;
  while (!client.readable(20ms) && ms_since(start) < 3000) {
    client.send(trickle.substr(sent++ % trickle.size(), 1));
  }
  const auto response = client.read_response();
  REQUIRE(response);
  const auto elapsed = ms_since(start);
  CHECK(response->status == 408);
  CHECK(response->header("connection") == "close");
  CHECK(elapsed >= 90);
  CHECK(elapsed < 2000);
  CHECK(client.wait_closed());
  CHECK(server.metrics().rejected[Rejection::kHeaderTimeout] == 1);
}

TEST_CASE("a stalled body is answered 408") {
  Limits limits;
  limits.idle_timeout_ms = 100;
  TestServer server(limits, plain);
  Client client(server.port());
  client.send("PUT /kv/x HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc");
  const auto response = client.read_response();
  REQUIRE(response);
  CHECK(response->status == 408);
  CHECK(client.wait_closed());
  CHECK(server.metrics().rejected[Rejection::kBodyTimeout] == 1);
}

TEST_CASE("an idle keep-alive connection is closed after the idle timeout") {
  Limits limits;
  limits.idle_timeout_ms = 150;
  TestServer server(limits, plain);
  Client client(server.port());
  client.send(get("/"));
  REQUIRE(client.read_response());
  const auto start = Clock::now();
  std::string rest;
  CHECK(client.wait_closed(5s, &rest));
  CHECK(rest.empty());  // closed silently
  CHECK(ms_since(start) >= 140);
  Client silent(server.port());  // never sends a byte
  CHECK(silent.wait_closed());
  CHECK(server.metrics().rejected[Rejection::kIdleTimeout] == 2);
}

TEST_CASE("no timer runs while the handler works on a request") {
  Limits limits;
  limits.header_timeout_ms = 50;
  limits.idle_timeout_ms = 50;
  TestServer server(limits, plain);
  Client client(server.port());
  client.send(get("/delay/300") + get("/after"));
  const auto response = client.read_response();
  REQUIRE(response);
  CHECK(response->status == 200);
  CHECK(response->body == "GET /delay/300\n");
  CHECK(client.read_response()->body == "GET /after\n");
  const ServerMetrics metrics = server.metrics();
  CHECK(metrics.rejected[Rejection::kHeaderTimeout] == 0);
  CHECK(metrics.rejected[Rejection::kIdleTimeout] == 0);
}
