// set_peers() on live transports: adding, removing and re-addressing peers,
// and a joining member that learns its callers from their handshakes.
#include <algorithm>

#include <catch2/catch.hpp>

#include "harness.h"
#include "transport/handshake.h"

namespace raftkv::transport::test {
namespace {

std::size_t received_from(const Node& node, core::NodeId from) {
  return static_cast<std::size_t>(
      std::count_if(node.received.begin(), node.received.end(),
                    [from](const Received& r) { return r.from == from; }));
}

TEST_CASE("a peer added at runtime exchanges messages both ways", "[transport][membership]") {
  Loop loop;
  const std::uint16_t port_a = free_port(), port_b = free_port(), port_c = free_port();
  Node a(loop, 1, {{2, loopback(port_b)}}, port_a);
  Node b(loop, 2, {{1, loopback(port_a)}}, port_b);
  Node c(loop, 3, {{1, loopback(port_a)}}, port_c);

  // Before: A cannot route to C, and refuses C's handshake.
  CHECK_FALSE(a.transport->send(heartbeat(3, 1)));
  CHECK(a.transport->unroutable_messages() == 1);
  REQUIRE(c.transport->send(heartbeat(1, 1)));
  REQUIRE(loop.run_until([&] { return a.transport->rejected_connections() >= 1; }));
  CHECK(received_from(a, 3) == 0);

  a.transport->set_peers({{2, loopback(port_b)}, {3, loopback(port_c)}});
  CHECK(a.transport->peer_ids() == std::vector<core::NodeId>{2, 3});
  REQUIRE(a.transport->send(heartbeat(3, 2)));
  REQUIRE(a.transport->send(heartbeat(2, 2)));
  // C redials after its backoff and is accepted now.
  std::uint64_t term = 2;
  REQUIRE(loop.run_until([&] {
    c.transport->send(heartbeat(1, ++term));  // dropped while C backs off; resent
    return received_from(a, 3) > 0 && received_from(c, 1) == 1 && received_from(b, 1) == 1;
  }));
  CHECK(c.received.back().term == 2);
  CHECK(a.transport->unroutable_messages() == 1);
  // The existing peer was not disturbed.
  CHECK(a.transport->peer_metrics(2).reconnects == 0);

  REQUIRE(a.close(loop));
  REQUIRE(b.close(loop));
  REQUIRE(c.close(loop));
  REQUIRE(loop.close() == 0);
}

TEST_CASE("a removed peer is disconnected, unroutable and refused", "[transport][membership]") {
  Loop loop;
  const std::uint16_t port_a = free_port(), port_b = free_port(), port_c = free_port();
  const std::uint16_t nobody = free_port();
  Node a(loop, 1, {{2, loopback(port_b)}, {3, loopback(port_c)}, {5, loopback(nobody)}}, port_a);
  Node b(loop, 2, {{1, loopback(port_a)}}, port_b);
  Node c(loop, 3, {{1, loopback(port_a)}}, port_c);

  REQUIRE(a.transport->send(heartbeat(2, 1)));
  REQUIRE(a.transport->send(heartbeat(5, 1)));  // 5 is unreachable: connecting, backing off
  REQUIRE(b.transport->send(heartbeat(1, 1)));
  REQUIRE(c.transport->send(heartbeat(1, 1)));
  REQUIRE(loop.run_until([&] {
    return received_from(b, 1) == 1 && received_from(a, 2) == 1 && received_from(a, 3) == 1 &&
           a.transport->peer_metrics(2).connected && b.transport->peer_metrics(1).connected &&
           a.transport->peer_metrics(5).dropped_messages == 1;  // its connect failed
  }));
  const std::uint64_t rejected_before = a.transport->rejected_connections();

  // Queued in this loop iteration, not yet written: dropped by the removal.
  for (std::uint64_t term = 2; term <= 4; ++term) REQUIRE(a.transport->send(heartbeat(2, term)));
  a.transport->set_peers({{3, loopback(port_c)}});
  CHECK(a.transport->peer_ids() == std::vector<core::NodeId>{3});
  CHECK_FALSE(a.transport->send(heartbeat(2, 5)));
  CHECK_FALSE(a.transport->send(heartbeat(5, 5)));
  CHECK(a.transport->unroutable_messages() == 2);
  CHECK(a.transport->peer_metrics(2).sent_messages == 0);  // forgotten with the peer

  // B's connection to A was closed; B redials and A refuses its handshake.
  REQUIRE(loop.run_until([&] {
    b.transport->send(heartbeat(1, 9));
    return a.transport->rejected_connections() > rejected_before &&
           a.transport->dropped_for_removed_peers() >= 3;
  }));
  CHECK(a.transport->dropped_for_removed_peers() == 3);
  CHECK(received_from(b, 1) == 1);  // nothing after the removal reached B
  CHECK(received_from(a, 2) == 1);  // nor the other way round

  // The remaining peer is untouched.
  REQUIRE(a.transport->send(heartbeat(3, 6)));
  REQUIRE(c.transport->send(heartbeat(1, 6)));
  REQUIRE(loop.run_until([&] { return received_from(c, 1) == 1 && received_from(a, 3) == 2; }));
  CHECK(a.transport->peer_metrics(3).reconnects == 0);

  REQUIRE(a.close(loop));
  REQUIRE(b.close(loop));
  REQUIRE(c.close(loop));
  REQUIRE(loop.close() == 0);  // every handle of the removed peers was freed
}

TEST_CASE("a peer removed from inside the message handler", "[transport][membership]") {
  Loop loop;
  const std::uint16_t port_a = free_port(), port_b = free_port();
  Node a(loop, 1, {{2, loopback(port_b)}}, port_a);
  Node b(loop, 2, {{1, loopback(port_a)}}, port_b);
  // The daemon may apply a removal while handling a message from that peer.
  a.on_receive = [&](const pb::Message& message) {
    if (message.term() == 2) a.transport->set_peers({});
  };
  REQUIRE(a.transport->send(heartbeat(2, 1)));
  for (std::uint64_t term = 1; term <= 3; ++term) REQUIRE(b.transport->send(heartbeat(1, term)));
  REQUIRE(loop.run_until([&] { return a.transport->peer_ids().empty(); }));
  loop.run_for(50);
  // Frames after the removing one, even already read, are not delivered.
  CHECK(received_from(a, 2) == 2);
  REQUIRE(a.close(loop));
  REQUIRE(b.close(loop));
  REQUIRE(loop.close() == 0);
}

TEST_CASE("an address change reconnects to the new address", "[transport][membership]") {
  Loop loop;
  const std::uint16_t port_a = free_port(), port_old = free_port(), port_new = free_port();
  Node a(loop, 1, {{2, loopback(port_old)}}, port_a);
  Node old_b(loop, 2, {{1, loopback(port_a)}}, port_old);
  Node new_b(loop, 2, {{1, loopback(port_a)}}, port_new);  // the member, moved

  REQUIRE(a.transport->send(heartbeat(2, 1)));
  REQUIRE(loop.run_until([&] { return old_b.received.size() == 1; }));

  a.transport->set_peers({{2, loopback(port_new)}});
  REQUIRE(loop.run_until([&] {
    a.transport->send(heartbeat(2, 2));  // refused or dropped while redialling: resent
    return !new_b.received.empty();
  }));
  CHECK(old_b.received.size() == 1);  // the old address gets nothing more
  const PeerMetrics metrics = a.transport->peer_metrics(2);
  CHECK(metrics.reconnects == 1);
  CHECK(metrics.sent_messages >= 2);  // metrics kept across the change
  // The move does not count as a removal.
  CHECK(a.transport->dropped_for_removed_peers() == 0);

  // The same list again changes nothing.
  REQUIRE(loop.run_until([&] { return a.transport->peer_metrics(2).queued_bytes == 0; }));
  const std::uint64_t sent = a.transport->peer_metrics(2).sent_messages;
  a.transport->set_peers({{2, loopback(port_new)}, {1, loopback(port_a)}, {2, loopback(port_old)}});
  CHECK(a.transport->peer_metrics(2).connected);
  REQUIRE(a.transport->send(heartbeat(2, 3)));
  REQUIRE(loop.run_until([&] { return a.transport->peer_metrics(2).sent_messages == sent + 1; }));
  CHECK(a.transport->peer_metrics(2).reconnects == 1);

  REQUIRE(a.close(loop));
  REQUIRE(old_b.close(loop));
  REQUIRE(new_b.close(loop));
  REQUIRE(loop.close() == 0);
}

TEST_CASE("a joining member learns an unknown caller's address from its handshake",
          "[transport][membership]") {
  Loop loop;
  const std::uint16_t port_a = free_port(), port_j = free_port();
  TransportOptions joining;
  joining.accept_unknown_peers = true;
  Node j(loop, 4, {}, port_j, joining);  // knows nobody yet
  Node a(loop, 1, {{4, loopback(port_j)}}, port_a);

  REQUIRE(a.transport->send(heartbeat(4, 1)));
  REQUIRE(loop.run_until([&] { return j.received.size() == 1; }));
  CHECK(j.transport->peer_ids() == std::vector<core::NodeId>{1});
  REQUIRE(j.transport->send(heartbeat(1, 1)));  // the answer goes to A's listen address
  REQUIRE(loop.run_until([&] { return received_from(a, 4) == 1; }));

  // Configured: the learned peer is confirmed by set_peers, learning stops.
  j.transport->set_peers({{1, loopback(port_a)}});
  j.transport->accept_unknown_peers(false);
  REQUIRE(a.transport->send(heartbeat(4, 2)));
  REQUIRE(loop.run_until([&] { return j.received.size() == 2; }));
  CHECK(j.transport->rejected_connections() == 0);
  CHECK(a.transport->peer_metrics(4).reconnects == 0);

  // Without learning, a removal now sticks: A's handshakes are refused.
  j.transport->set_peers({});
  REQUIRE(loop.run_until([&] {
    a.transport->send(heartbeat(4, 3));
    return j.transport->rejected_connections() >= 1;
  }));
  CHECK(j.received.size() == 2);

  REQUIRE(a.close(loop));
  REQUIRE(j.close(loop));
  REQUIRE(loop.close() == 0);
}

TEST_CASE("turning learning off closes connections from non-peers", "[transport][membership]") {
  Loop loop;
  const std::uint16_t port_j = free_port();
  TransportOptions joining;
  joining.accept_unknown_peers = true;
  Node j(loop, 4, {}, port_j, joining);
  // A caller claiming no address: accepted, but it cannot be answered.
  RawClient caller(loop, port_j, frame_of(make_handshake(7, 4)) + frame_of([] {
                                   pb::Message m = heartbeat(4, 1);
                                   m.set_from(7);
                                   return m;
                                 }()));
  REQUIRE(loop.run_until([&] { return j.received.size() == 1; }));
  CHECK(j.transport->peer_ids().empty());
  CHECK_FALSE(j.transport->send(heartbeat(7, 1)));
  j.transport->accept_unknown_peers(false);
  REQUIRE(loop.run_until([&] { return caller.closed_by_server(); }));
  CHECK(j.transport->rejected_connections() == 0);  // not a protocol violation
  caller.close_and_wait(loop);
  REQUIRE(j.close(loop));
  REQUIRE(loop.close() == 0);
}

}  // namespace
}  // namespace raftkv::transport::test
