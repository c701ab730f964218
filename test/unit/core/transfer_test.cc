// Leadership transfer (thesis §3.10).
#include <catch2/catch.hpp>

#include "helpers.h"

using namespace raftkv::core;
namespace pb = raftkv::pb;
using namespace raftkv::core::test;

TEST_CASE("leadership transfer to an up-to-date member completes") {
  Cluster c({1, 2, 3});
  c.elect(1);
  const Term term = c.core(1).term();
  CHECK(c.core(1).transfer_leadership(2) == TransferResult::kStarted);
  c.stabilize();
  CHECK(c.core(2).role() == Role::kLeader);
  CHECK(c.core(2).term() == term + 1);
  CHECK(c.core(1).leader() == 2);
  // The target skipped pre-vote and flagged its votes.
  bool flagged = false;
  for (const auto& m : c.sent_log()) {
    if (m.from() == 2 && m.has_request_vote()) {
      CHECK_FALSE(m.request_vote().pre_vote());
      flagged = m.request_vote().leadership_transfer();
    }
  }
  CHECK(flagged);
}

TEST_CASE("leadership transfer first brings the target up to date") {
  Cluster c({1, 2, 3});
  c.elect(1);
  c.drop = [](const pb::Message& m) { return m.to() == 2; };
  for (int i = 0; i < 3; ++i) c.core(1).propose("x");
  c.stabilize();
  c.drop = nullptr;
  REQUIRE(c.core(1).transfer_leadership(2) == TransferResult::kStarted);
  CHECK(c.core(1).propose("y") == ProposeResult::kTransferring);
  c.process(1);
  CHECK(take_to(c, 2, pb::Message::kTimeoutNow).empty());
  for (int i = 0; i < 3 && c.core(2).role() != Role::kLeader; ++i) c.tick(1);
  CHECK(c.core(2).role() == Role::kLeader);
  CHECK(c.member(2).disk.entries.size() == 5);  // 1 no-op + 3 + new no-op
}

TEST_CASE("leadership transfer aborts after an election timeout") {
  Cluster c({1, 2, 3});
  c.elect(1);
  c.isolate(2);
  REQUIRE(c.core(1).transfer_leadership(2) == TransferResult::kStarted);
  CHECK(c.core(1).propose("x") == ProposeResult::kTransferring);
  for (int i = 0; i < 10; ++i) c.tick(1);
  CHECK(c.core(1).role() == Role::kLeader);
  CHECK(c.core(1).propose("x") == ProposeResult::kAccepted);
}

TEST_CASE("leadership transfer refuses bad requests") {
  Cluster c({1, 2, 3});
  c.elect(1);
  CHECK(c.core(1).transfer_leadership(1) == TransferResult::kAlreadyLeader);
  CHECK(c.core(1).transfer_leadership(9) == TransferResult::kUnknownTarget);
  CHECK(c.core(2).transfer_leadership(3) == TransferResult::kNotLeader);
}

TEST_CASE("a follower receiving a proposal during a transfer forwards; the leader drops it") {
  Cluster c({1, 2, 3});
  c.elect(1);
  c.isolate(3);
  c.core(1).transfer_leadership(3);
  CHECK(c.core(2).propose("x") == ProposeResult::kAccepted);
  c.stabilize();
  CHECK(c.core(1).status().last_log_index == 1);
}
