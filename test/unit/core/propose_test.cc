// Forwarded proposals that certainly were not appended are reported in
// Ready::dropped_proposals, so that clients learn it at once; proposals of
// unknown fate never are (a refused batch must stay refused, whatever the
// network duplicates).
#include <catch2/catch.hpp>

#include "helpers.h"

using namespace raftkv::core;
namespace pb = raftkv::pb;
using namespace raftkv::core::test;

namespace {

bool log_has(Cluster& c, NodeId id, const std::string& data) {
  for (const auto& e : c.member(id).disk.entries) {
    if (e.data() == data) return true;
  }
  return false;
}

// The Propose messages `from` sent so far.
std::vector<pb::Message> proposes_from(Cluster& c, NodeId from) {
  std::vector<pb::Message> out;
  for (const auto& m : c.sent_log()) {
    if (m.from() == from && m.has_propose()) out.push_back(m);
  }
  return out;
}

int propose_responses(const Ready& r) {
  int n = 0;
  for (const auto& out : r.messages) n += out.message.has_propose_response() ? 1 : 0;
  return n;
}

}  // namespace

TEST_CASE("unsent forwarded proposals are reported dropped when the leader changes") {
  Cluster c({1, 2, 3});
  c.elect(1);
  REQUIRE(c.core(2).propose("p") == ProposeResult::kAccepted);
  pb::Message timeout_now;  // 2 starts an election before forwarding "p"
  timeout_now.set_from(1);
  timeout_now.set_to(2);
  timeout_now.set_term(c.core(2).term());
  timeout_now.mutable_timeout_now();
  c.core(2).step(timeout_now);
  Ready r = c.core(2).ready();
  REQUIRE(r.dropped_proposals.size() == 1);
  CHECK(r.dropped_proposals[0].data == "p");
  CHECK(r.dropped_proposals[0].reason == DropReason::kLeaderChanged);
  for (const auto& out : r.messages) CHECK_FALSE(out.message.has_propose());
}

TEST_CASE("a transferring leader refuses a forwarded batch, and a copy of it later") {
  Cluster c({1, 2, 3});
  c.elect(1);
  c.drop = [](const pb::Message& m) { return m.has_timeout_now(); };
  REQUIRE(c.core(1).transfer_leadership(3) == TransferResult::kStarted);
  c.stabilize();
  c.core(2).propose("p");
  c.core(2).propose("q");
  c.stabilize();
  REQUIRE(c.member(2).dropped.size() == 2);
  CHECK(c.member(2).dropped[0].data == "p");
  CHECK(c.member(2).dropped[1].data == "q");
  CHECK(c.member(2).dropped[0].reason == DropReason::kTransferring);
  // The transfer is abandoned; a copy of the refused batch arrives again.
  c.tick(1, 12);
  REQUIRE(c.core(1).role() == Role::kLeader);
  const auto sent = proposes_from(c, 2);
  REQUIRE(sent.size() == 1);
  c.core(1).step(sent[0]);
  CHECK(propose_responses(c.core(1).ready()) == 0);
  c.stabilize();
  CHECK_FALSE(log_has(c, 1, "p"));
  CHECK(c.member(2).dropped.size() == 2);
}

TEST_CASE("a copy of an appended batch is neither appended again nor refused") {
  Cluster c({1, 2, 3});
  c.elect(1);
  c.core(2).propose("p");
  c.stabilize();
  REQUIRE(log_has(c, 1, "p"));
  const Index last = c.core(1).status().last_log_index;
  // Even while transferring (which refuses new batches), a copy is ignored.
  c.drop = [](const pb::Message& m) { return m.has_timeout_now(); };
  c.core(1).transfer_leadership(3);
  c.stabilize();
  c.core(1).step(proposes_from(c, 2).at(0));
  CHECK(propose_responses(c.core(1).ready()) == 0);
  CHECK(c.core(1).status().last_log_index == last);
  CHECK(c.member(2).dropped.empty());
}

TEST_CASE("the leader refuses the part of a batch past max_uncommitted_bytes") {
  Cluster c({1, 2, 3}, [](Options& o) { o.max_uncommitted_bytes = 250; });
  c.elect(1);
  c.drop = [](const pb::Message& m) { return m.has_append_entries_response(); };
  REQUIRE(c.core(1).propose(std::string(100, 'a')) == ProposeResult::kAccepted);
  REQUIRE(c.core(1).propose(std::string(100, 'b')) == ProposeResult::kAccepted);
  c.core(2).propose(std::string(10, 'c'));
  c.core(2).propose(std::string(100, 'd'));
  c.core(2).propose(std::string(10, 'e'));
  c.stabilize();
  REQUIRE(c.member(2).dropped.size() == 2);
  CHECK(c.member(2).dropped[0].data == std::string(100, 'd'));
  CHECK(c.member(2).dropped[1].data == std::string(10, 'e'));
  CHECK(c.member(2).dropped[0].reason == DropReason::kBackPressure);
  CHECK(log_has(c, 1, std::string(10, 'c')));
}

TEST_CASE("a deposed leader refuses a batch of the term it led, but not after a restart") {
  Cluster c({1, 2, 3});
  c.elect(1);
  c.isolate(1);
  c.core(2).propose("p");
  c.process(2);
  const auto sent = proposes_from(c, 2);
  REQUIRE(sent.size() == 1);
  for (int i = 0; i < 25; ++i) c.tick(1);  // check-quorum: 1 steps down
  REQUIRE(c.core(1).role() == Role::kFollower);
  REQUIRE(c.core(1).term() == sent[0].term());
  c.heal();
  c.core(1).step(sent[0]);
  c.stabilize();
  REQUIRE(c.member(2).dropped.size() == 1);
  CHECK(c.member(2).dropped[0].reason == DropReason::kNotLeader);
  c.core(1).step(sent[0]);  // a copy: decided already, no second answer
  CHECK(propose_responses(c.core(1).ready()) == 0);

  // After a restart 1 no longer knows which batches it decided, and it may
  // have led this term (it voted for itself): it says nothing.
  c.restart(1);
  pb::Message unseen = sent[0];
  unseen.mutable_propose()->set_seq(99);
  c.core(1).step(unseen);
  CHECK(propose_responses(c.core(1).ready()) == 0);
  CHECK_FALSE(log_has(c, 1, "p"));
}

TEST_CASE("a follower that never led the batch's term refuses it") {
  Cluster c({1, 2, 3});
  c.elect(1);
  c.core(2).propose("p");
  c.process(2);
  pb::Message misrouted = proposes_from(c, 2).at(0);
  misrouted.set_to(3);  // 3 follows 1 in this term and voted for 1 (or nobody)
  c.queue().clear();
  c.core(3).step(misrouted);
  Ready r = c.core(3).ready();
  REQUIRE(propose_responses(r) == 1);
  c.core(2).step(r.messages.at(0).message);
  Ready r2 = c.core(2).ready();
  REQUIRE(r2.dropped_proposals.size() == 1);
  CHECK(r2.dropped_proposals[0].reason == DropReason::kNotLeader);
}
