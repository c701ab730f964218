// Bounded per-peer memory and control-before-data priority.
#include <catch2/catch.hpp>

#include <algorithm>

#include "harness.h"

namespace raftkv::transport::test {
namespace {

constexpr std::size_t kMiB = 1 << 20;

TEST_CASE("with the peer down, 100 MB of appends stay within the queue bound", "[queue]") {
  Loop loop;
  TransportOptions options;
  options.max_queue_bytes = 8 * kMiB;
  Node a(loop, 1, {{2, loopback(free_port())}}, 0, options);  // nobody listens there

  std::uint64_t accepted = 0;
  std::size_t max_queued = 0;
  for (std::uint64_t i = 1; i <= 100; ++i) {
    accepted += a.transport->send(entries(2, i, kMiB)) ? 1 : 0;
    max_queued = std::max<std::size_t>(max_queued, a.transport->peer_metrics(2).queued_bytes);
  }
  CHECK(max_queued <= options.max_queue_bytes);
  CHECK(max_queued <= options.disconnected_queue_bytes);
  PeerMetrics metrics = a.transport->peer_metrics(2);
  CHECK(metrics.dropped_messages == 100 - accepted);
  CHECK(accepted <= 1);
  // Heartbeats still fit: they have their own reserve.
  CHECK(a.transport->send(heartbeat(2, 101)));

  // Failed connection attempts drop what was queued: nothing is hoarded.
  REQUIRE(loop.run_until([&] { return a.transport->peer_metrics(2).reconnects >= 2; }));
  metrics = a.transport->peer_metrics(2);
  CHECK(metrics.queued_bytes == 0);
  CHECK(metrics.sent_messages == 0);
  CHECK(metrics.dropped_messages == 101);
  CHECK_FALSE(metrics.connected);

  REQUIRE(a.close(loop));
  REQUIRE(loop.close() == 0);
}

TEST_CASE("with the peer stuck, queued bytes (ours + libuv's) stay bounded", "[queue]") {
  Loop loop;
  const std::uint16_t port = free_port();
  StuckListener stuck(loop, port);
  TransportOptions options;
  options.max_queue_bytes = 8 * kMiB;
  Node a(loop, 1, {{2, loopback(port)}}, 0, options);

  std::uint64_t attempted = 0, accepted = 0;
  std::size_t max_queued = 0;
  Ticker ticker(loop, 1, [&] {
    for (int i = 0; i < 4 && attempted < 100; ++i) {
      accepted += a.transport->send(entries(2, ++attempted, kMiB)) ? 1 : 0;
      max_queued = std::max<std::size_t>(max_queued, a.transport->peer_metrics(2).queued_bytes);
    }
  });
  REQUIRE(loop.run_until([&] { return attempted == 100; }, 20000));
  loop.run_for(50);  // let libuv write what the socket takes
  const PeerMetrics metrics = a.transport->peer_metrics(2);
  CHECK(metrics.connected);
  CHECK(max_queued <= options.max_queue_bytes);
  CHECK(metrics.queued_bytes <= options.max_queue_bytes);
  CHECK(metrics.dropped_messages == 100 - accepted);
  CHECK(metrics.dropped_messages > 50);
  WARN("accepted " << accepted << " of 100, max queued " << max_queued);
  // Control messages still get in (reserve), and leave first.
  CHECK(a.transport->send(heartbeat(2, 1000)));

  ticker.stop_and_wait(loop);
  REQUIRE(a.close(loop));
  stuck.close_and_wait(loop);
  REQUIRE(loop.close() == 0);
}

TEST_CASE("a heartbeat overtakes a backlog of large AppendEntries", "[queue]") {
  Loop loop;
  const std::uint16_t port_a = free_port(), port_b = free_port();
  Node a(loop, 1, {{2, loopback(port_b)}}, port_a);
  Node b(loop, 2, {{1, loopback(port_a)}}, port_b);
  REQUIRE(connect_first(loop, a, b));

  for (std::uint64_t i = 1; i <= 20; ++i) REQUIRE(a.transport->send(entries(2, i, kMiB)));
  uv_run(loop.get(), UV_RUN_NOWAIT);  // the socket takes what it can, the rest waits
  REQUIRE(a.transport->send(heartbeat(2, 1000)));
  REQUIRE(loop.run_until([&] { return b.received.size() == 21; }, 20000));

  const auto beat = std::find_if(b.received.begin(), b.received.end(),
                                 [](const Received& r) { return !r.has_entries; });
  REQUIRE(beat != b.received.end());
  const auto ahead = beat - b.received.begin();
  WARN("entries delivered before the heartbeat: " << ahead);
  CHECK(ahead < 10);
  CHECK(a.transport->peer_metrics(2).dropped_messages == 0);

  REQUIRE(a.close(loop));
  REQUIRE(b.close(loop));
  REQUIRE(loop.close() == 0);
}

TEST_CASE("small messages sent in one iteration share writes", "[queue]") {
  Loop loop;
  const std::uint16_t port_a = free_port(), port_b = free_port();
  Node a(loop, 1, {{2, loopback(port_b)}}, port_a);
  Node b(loop, 2, {{1, loopback(port_a)}}, port_b);
  REQUIRE(connect_first(loop, a, b));
  // 500 messages in one iteration: all arrive, in order, with nothing
  // dropped (the writev path with many buffers per uv_write).
  for (std::uint64_t i = 2; i <= 501; ++i) REQUIRE(a.transport->send(vote(2, i)));
  REQUIRE(loop.run_until([&] { return b.received.size() == 500; }));
  for (std::uint64_t i = 0; i < 500; ++i) CHECK(b.received[i].term == i + 2);
  REQUIRE(a.close(loop));
  REQUIRE(b.close(loop));
  REQUIRE(loop.close() == 0);
}

}  // namespace
}  // namespace raftkv::transport::test
