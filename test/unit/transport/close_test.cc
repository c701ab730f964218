// close() completes, and frees everything, whatever state connections are in.
#include <catch2/catch.hpp>

#include "harness.h"

namespace raftkv::transport::test {
namespace {

constexpr std::size_t kMiB = 1 << 20;

TEST_CASE("close before the loop ever ran", "[close]") {
  Loop loop;
  Node a(loop, 1, {{2, loopback(free_port())}, {3, loopback(free_port())}}, free_port());
  REQUIRE(a.transport->send(heartbeat(2, 1)));  // a connect request is pending
  REQUIRE(a.close(loop));
  CHECK_FALSE(a.transport->send(heartbeat(2, 2)));
  REQUIRE(loop.close() == 0);
}

TEST_CASE("close with connections in every state", "[close]") {
  Loop loop;
  const std::uint16_t port_a = free_port(), port_b = free_port();
  TransportOptions options;
  options.connect_timeout_ms = 60'000;
  Node a(loop, 1,
         {{2, loopback(port_b)},                  // open, with a backlog in flight
          {3, loopback(free_port())},             // refused: backing off
          {4, util::Address{"10.255.255.1", 9}},  // unroutable: connecting (or failing)
          {5, loopback(port_a)}},                 // ourselves under another id: handshake refused
         port_a, options);
  Node b(loop, 2, {{1, loopback(port_a)}}, port_b);

  REQUIRE(a.transport->send(heartbeat(2, 1)));
  REQUIRE(b.transport->send(heartbeat(1, 1)));  // B -> A: an identified inbound connection
  REQUIRE(loop.run_until([&] { return b.received.size() == 1 && a.received.size() == 1; }));
  RawClient silent(loop, port_a, "");  // handshaking inbound connection
  REQUIRE(a.transport->send(heartbeat(3, 1)));
  REQUIRE(a.transport->send(heartbeat(4, 1)));
  REQUIRE(a.transport->send(heartbeat(5, 1)));
  REQUIRE(loop.run_until(
      [&] { return silent.connected() && a.transport->peer_metrics(3).reconnects >= 1; }));
  for (std::uint64_t i = 1; i <= 8; ++i) REQUIRE(a.transport->send(entries(2, i, kMiB)));
  uv_run(loop.get(), UV_RUN_NOWAIT);  // writes now in flight

  REQUIRE(a.close(loop));
  REQUIRE(b.close(loop));
  silent.close_and_wait(loop);
  REQUIRE(loop.close() == 0);
}

TEST_CASE("close from inside the message handler", "[close]") {
  Loop loop;
  const std::uint16_t port_a = free_port(), port_b = free_port();
  Node a(loop, 1, {{2, loopback(port_b)}}, port_a);
  Node b(loop, 2, {{1, loopback(port_a)}}, port_b);
  int done = 0;
  b.on_receive = [&](const pb::Message&) {
    b.transport->close([&] { ++done; });
    b.transport->close([&] { ++done; });  // a second close adds a callback
    b.transport->send(heartbeat(1, 9));   // refused, harmlessly
  };
  // Several frames arrive in one read: the handler closes after the first.
  for (std::uint64_t i = 1; i <= 50; ++i) REQUIRE(a.transport->send(heartbeat(2, i)));
  REQUIRE(loop.run_until([&] { return done == 2; }));
  CHECK(b.received.size() == 1);
  b.closed = true;
  REQUIRE(a.close(loop));
  REQUIRE(loop.close() == 0);
}

}  // namespace
}  // namespace raftkv::transport::test
