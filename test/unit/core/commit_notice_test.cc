// How soon followers hear a new commit index. A follower's client (a write
// it forwarded, a read waiting on its state machine) waits until the
// follower applies the entry, so the leader must tell it the moment the
// follower can use the news, not at the next heartbeat tick (issue 7: a
// single writer through a follower waited ~50 ms, one tick, per write).
#include <catch2/catch.hpp>

#include <functional>

#include "helpers.h"

using namespace raftkv::core;
namespace pb = raftkv::pb;
using namespace raftkv::core::test;

namespace {

// Processes everyone, then delivers only the queued messages `pick`
// selects, in queue order; the others stay queued. No tick happens.
void deliver_only(Cluster& c, const std::function<bool(const pb::Message&)>& pick) {
  c.process_all();
  std::deque<pb::Message> kept;
  std::vector<pb::Message> chosen;
  for (pb::Message& m : c.queue()) {
    if (pick(m)) {
      chosen.push_back(std::move(m));
    } else {
      kept.push_back(std::move(m));
    }
  }
  c.queue() = std::move(kept);
  for (pb::Message& m : chosen) c.core(m.to()).step(std::move(m));
}

bool is_ack_from(const pb::Message& m, NodeId from) {
  return m.from() == from && m.has_append_entries_response();
}

// The highest leader_commit a queued AppendEntries to `to` carries that
// `to` may use: capped at the last index the message proves shared.
Index commit_told(Cluster& c, NodeId to) {
  Index told = 0;
  for (const pb::Message& m : c.queue()) {
    if (m.to() != to || !m.has_append_entries()) continue;
    const auto& ae = m.append_entries();
    const Index last = ae.prev_log_index() + static_cast<Index>(ae.entries_size());
    told = std::max<Index>(told, std::min<Index>(ae.leader_commit(), last));
  }
  return told;
}

}  // namespace

TEST_CASE("a follower whose acknowledgement arrives after the commit hears it without a tick") {
  Cluster c({1, 2, 3});
  c.elect(1);
  const Index index = c.core(1).status().last_log_index + 1;
  // 2 forwards a client's write; the leader appends it and replicates it.
  REQUIRE(c.core(2).propose("w") == ProposeResult::kAccepted);
  deliver_only(c, [](const pb::Message& m) { return m.has_propose(); });
  deliver_only(c, [](const pb::Message& m) { return m.has_append_entries(); });
  // 3's acknowledgement arrives first and commits the entry; the heartbeat
  // that announces it to 2 can only carry 2's old match.
  deliver_only(c, [](const pb::Message& m) { return is_ack_from(m, 3); });
  REQUIRE(c.core(1).status().commit_index == index);
  c.process(1);
  CHECK(commit_told(c, 2) < index);
  // Then 2's acknowledgement: the leader must tell 2 at once.
  deliver_only(c, [](const pb::Message& m) { return is_ack_from(m, 2); });
  c.process(1);
  CHECK(commit_told(c, 2) == index);
  c.stabilize();  // deliveries only: no tick
  CHECK(c.core(2).status().commit_index == index);
  REQUIRE(c.member(2).applied.size() == index);
  CHECK(c.member(2).applied.back().data() == "w");
}

TEST_CASE("every follower hears a new commit index without a tick") {
  Cluster c({1, 2, 3, 4, 5});
  c.elect(1);
  const Index index = c.core(1).status().last_log_index + 1;
  c.core(1).propose("x");
  deliver_only(c, [](const pb::Message& m) { return m.has_append_entries(); });
  // Acknowledgements one by one, in an order where the commit point is
  // passed in the middle: the late ones still learn it.
  for (NodeId from : {5, 2, 4, 3}) {
    deliver_only(c, [from](const pb::Message& m) { return is_ack_from(m, from); });
  }
  c.stabilize();
  for (NodeId id : {2, 3, 4, 5}) {
    INFO("member " << id);
    CHECK(c.core(id).status().commit_index == index);
  }
}

TEST_CASE("a follower that already knows the commit index gets no extra heartbeat") {
  Cluster c({1, 2, 3});
  c.elect(1);
  c.core(1).propose("x");
  c.stabilize();
  REQUIRE(c.core(2).status().commit_index == c.core(1).status().commit_index);
  const std::size_t before = c.sent_log().size();
  // An acknowledgement that tells the leader nothing new (a heartbeat's
  // answer) must not start an exchange of heartbeats.
  c.tick(1);
  int heartbeats = 0;
  for (std::size_t i = before; i < c.sent_log().size(); ++i) {
    const pb::Message& m = c.sent_log()[i];
    if (m.from() == 1 && m.has_append_entries()) ++heartbeats;
  }
  CHECK(heartbeats == 2);  // the tick's own, one per follower
}
