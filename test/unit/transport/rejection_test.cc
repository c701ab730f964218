// Hostile or broken inbound connections are closed and counted, one at a
// time, while a legitimate peer keeps talking.
#include <catch2/catch.hpp>

#include "harness.h"
#include "transport/handshake.h"

namespace raftkv::transport::test {
namespace {

struct BadClient {
  const char* what;
  std::string bytes;
};

std::vector<BadClient> bad_clients() {
  pb::Handshake bad_magic = make_handshake(3, 2);
  bad_magic.set_magic(0x12345678);
  pb::Handshake bad_version = make_handshake(3, 2);
  bad_version.set_version(9);
  const std::string good = frame_of(make_handshake(3, 2));
  pb::Message not_from_3 = heartbeat(2, 1);
  not_from_3.set_from(1);
  pb::Message not_to_us = heartbeat(4, 1);
  not_to_us.set_from(3);
  return {
      {"HTTP garbage", "GET / HTTP/1.1\r\nHost: raftkv\r\n\r\n"},
      {"zero length", std::string(4, '\0')},
      {"undecodable handshake", std::string("\0\0\0\x03\xff\xff\xff", 7)},
      {"bad magic", frame_of(bad_magic)},
      {"bad version", frame_of(bad_version)},
      {"unknown member", frame_of(make_handshake(99, 2))},
      {"wrong receiver", frame_of(make_handshake(3, 5))},
      {"oversized length", good + std::string("\x7f\xff\xff\xff", 4)},
      {"undecodable message", good + std::string("\0\0\0\x04\xff\xff\xff\xff", 8)},
      {"message from another member", good + frame_of(not_from_3)},
      {"message to another member", good + frame_of(not_to_us)},
      {"no handshake", ""},
  };
}

TEST_CASE("bad inbound connections are closed and counted; peers keep working", "[transport]") {
  Loop loop;
  const std::uint16_t port_a = free_port(), port_b = free_port();
  TransportOptions options;
  options.max_frame_bytes = 1 << 20;
  options.handshake_timeout_ms = 200;
  Node a(loop, 1, {{2, loopback(port_b)}}, port_a, options);
  Node b(loop, 2, {{1, loopback(port_a)}, {3, loopback(free_port())}}, port_b, options);

  std::uint64_t term = 0;
  REQUIRE(a.transport->send(heartbeat(2, ++term)));
  REQUIRE(loop.run_until([&] { return b.received.size() == 1; }));

  std::uint64_t rejected = 0;
  for (const BadClient& bad : bad_clients()) {
    INFO(bad.what);
    RawClient client(loop, port_b, bad.bytes);
    REQUIRE(loop.run_until([&] { return client.closed_by_server(); }));
    CHECK(b.transport->rejected_connections() == ++rejected);
    client.close_and_wait(loop);
    // The legitimate connection is untouched.
    REQUIRE(a.transport->send(heartbeat(2, ++term)));
    REQUIRE(loop.run_until([&] { return b.received.size() == term; }));
  }
  CHECK(a.transport->peer_metrics(2).reconnects == 0);
  CHECK(a.transport->peer_metrics(2).dropped_messages == 0);
  CHECK(b.transport->peer_metrics(3).received_messages == 0);

  REQUIRE(a.close(loop));
  REQUIRE(b.close(loop));
  REQUIRE(loop.close() == 0);
}

TEST_CASE("a raw client speaking the protocol is served", "[transport]") {
  Loop loop;
  const std::uint16_t port_b = free_port();
  Node b(loop, 2, {{3, loopback(free_port())}}, port_b);
  pb::Message message = vote(2, 42);
  message.set_from(3);
  // Two frames in one write, the second split by nothing but its length.
  RawClient client(loop, port_b, frame_of(make_handshake(3, 2)) + frame_of(message));
  REQUIRE(loop.run_until([&] { return b.received.size() == 1; }));
  CHECK(b.received[0].from == 3);
  CHECK(b.received[0].term == 42);
  CHECK(b.transport->peer_metrics(3).received_messages == 1);
  CHECK(b.transport->rejected_connections() == 0);
  client.close_and_wait(loop);
  REQUIRE(b.close(loop));
  REQUIRE(loop.close() == 0);
}

TEST_CASE("a newer connection from a peer replaces the older one", "[transport]") {
  Loop loop;
  const std::uint16_t port_b = free_port();
  Node b(loop, 2, {{3, loopback(free_port())}}, port_b);
  RawClient older(loop, port_b, frame_of(make_handshake(3, 2)));
  REQUIRE(loop.run_until([&] { return older.connected(); }));
  loop.run_for(20);
  CHECK_FALSE(older.closed_by_server());
  RawClient newer(loop, port_b, frame_of(make_handshake(3, 2)));
  REQUIRE(loop.run_until([&] { return older.closed_by_server(); }));
  CHECK_FALSE(newer.closed_by_server());
  CHECK(b.transport->rejected_connections() == 0);  // not a protocol violation
  older.close_and_wait(loop);
  newer.close_and_wait(loop);
  REQUIRE(b.close(loop));
  REQUIRE(loop.close() == 0);
}

}  // namespace
}  // namespace raftkv::transport::test
